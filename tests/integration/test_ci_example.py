"""examples/ci runs as written: a wheel the project builds, installed by its SHA-256 into a fresh virtualenv, then
the GitHub Actions steps and the GitLab CI script against a real git repository with a pull request's change."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ci"


def _git(cwd: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--quiet", "-w", str(out)], cwd=ROOT,
                   check=True, capture_output=True)
    (built,) = out.glob("reconciler-*.whl")
    return built, hashlib.sha256(built.read_bytes()).hexdigest()


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A fresh virtualenv without the reconciler. Its dependencies are those of the test environment (a path
    entry, not a site folder: the editable install there is not seen), so the test needs no package download."""
    place = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(place)], check=True)
    subprocess.run([str(place / "bin" / "python"), "-m", "ensurepip", "--default-pip"], check=True,
                   capture_output=True)
    site = next((place / "lib").glob("python*/site-packages"))
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return place


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A clone of an environments repository on a pull request's branch that lowers prod's GPU quota."""
    origin, work = tmp_path / "origin.git", tmp_path / "envs"
    shutil.copytree(ROOT / "sample-repo", work)
    (work / "ci").mkdir()
    for script in ("review.sh", "install-reconciler.sh"):
        shutil.copy(EXAMPLES / script, work / "ci" / script)
    _git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(origin))
    _git(work, "init", "--quiet", "-b", "main")
    _git(work, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "add", ".")
    _git(work, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "--quiet", "-m", "base")
    _git(work, "remote", "add", "origin", str(origin))
    _git(work, "push", "--quiet", "origin", "main")
    _git(work, "fetch", "--quiet", "origin")
    _git(work, "checkout", "--quiet", "-b", "lower-gpu")
    prod = work / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("gpu: 8", "gpu: 6"))
    _git(work, "-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "--quiet", "-am", "fewer GPUs")
    return work


def _environment(venv: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", **more}


def _expand(text: str, outputs: dict[str, str]) -> str:
    """The few GitHub expressions the example uses, as GitHub would fill them for a pull request into main."""
    known = {"github.base_ref": "main", "steps.plan.outputs.status": outputs.get("status", "")}
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: known[m.group(1)], text)


def _outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_github_actions_steps_install_the_pinned_wheel_and_plan(wheel: tuple[Path, str], venv: Path,
                                                                   pull_request: Path, tmp_path: Path) -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions.yaml").read_text())
    pinned = {**workflow["env"], "RECONCILER_WHEEL": str(wheel[0]), "RECONCILER_SHA256": wheel[1]}
    github_output = tmp_path / "github-output"
    github_output.touch()
    ran = []
    for step in workflow["jobs"]["plan"]["steps"]:
        if "run" not in step or "gh pr comment" in step["run"]:
            continue  # checkout and setup-python are GitHub's; the comment needs GitHub's API
        outputs = _outputs(github_output)
        env = {k: _expand(str(v), outputs) for k, v in {**pinned, **step.get("env", {})}.items()}
        done = subprocess.run(["bash", "-e", "-c", _expand(step["run"], outputs)], cwd=pull_request,
                              capture_output=True, text=True, timeout=300,
                              env=_environment(venv, GITHUB_OUTPUT=str(github_output), **env))
        assert done.returncode == 0, (step["name"], done.stdout, done.stderr)
        ran.append(step["name"])
    assert ran == ["Install the reconciler", "Validate and plan",
                   "Fail when the plan is invalid or a finding blocks the change"]
    assert _outputs(github_output)["status"] == "0"
    plan = (pull_request / "plan.md").read_text()
    assert "prod" in plan and "requests.nvidia.com/gpu" in plan
    version = subprocess.run([str(venv / "bin" / "reconciler"), "version"], capture_output=True, text=True)
    assert version.stdout.startswith("reconciler 0.1.0 ")
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import reconciler; print(reconciler.__file__)"],
                               cwd=pull_request, capture_output=True, text=True, check=True).stdout
    assert installed.startswith(str(venv)), installed


def test_a_wheel_with_another_checksum_is_refused(wheel: tuple[Path, str], venv: Path, pull_request: Path) -> None:
    done = subprocess.run(["sh", "ci/install-reconciler.sh", str(wheel[0]), "0" * 64], cwd=pull_request,
                          capture_output=True, text=True, env=_environment(venv))
    assert done.returncode == 1
    assert f"does not have the SHA-256 {'0' * 64}; refusing to install it" in done.stderr
    assert f"its SHA-256 is {wheel[1]}" in done.stderr
    assert not (venv / "bin" / "reconciler").exists()


def test_the_gitlab_ci_script_runs_as_written(wheel: tuple[Path, str], venv: Path, pull_request: Path) -> None:
    pipeline = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    variables = {**pipeline["variables"], "RECONCILER_WHEEL": str(wheel[0]), "RECONCILER_SHA256": wheel[1],
                 "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}
    script = "\n".join(pipeline["reconciler-plan"]["script"])
    done = subprocess.run(["bash", "-e", "-c", script], cwd=pull_request, capture_output=True, text=True,
                          timeout=300, env=_environment(venv, **variables))
    assert done.returncode == 0, done.stderr
    assert "requests.nvidia.com/gpu" in (pull_request / pipeline["reconciler-plan"]["artifacts"]["paths"][0]
                                         ).read_text()
