"""Every command the README and the ``--help`` texts show runs as written, against a real git repository holding a
copy of sample-repo and the test clusters (KUBECONFIG, demo/kubeconfig and ~/.kube/config all name them).

The copy's namespaces carry a prefix of their own (tests share the clusters), and the commands get the same prefix.
A command that cannot run in a test is listed in NOT_RUN with the reason; every other one is run, so a new example
is tested as soon as it is written."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.integration import documented_examples
from tests.integration.support import private_repo

NOT_RUN = {
    "make demo    # install, start two local Kubernetes control planes, validate and apply the sample repository":
        "starts control planes of its own; the test runs its commands against the test clusters instead",
    "make test    # install, build or reuse the control plane binaries, run unit and integration tests":
        "runs this test suite",
    "make test                 # all tests, integration ones on real kube-apiserver, etcd, controller manager":
        "runs this test suite",
    "make unit                 # unit and command tests only, no server": "runs the unit suite (CI's own step)",
    "make lint                 # ruff and mypy": "CI's own step",
    "make demo-down": "stops make demo's control planes, which the test did not start",
    "export KUBECONFIG=$PWD/.state/demo/kubeconfig":
        "make demo's kubeconfig; every command here runs with KUBECONFIG set to the test clusters' instead",
    "scripts/testenv up --clusters shared,gpu --dir /tmp/k   # local clusters for experiments; `down --dir /tmp/k`":
        "starts two more control planes (testenv is tested in tests/unit/test_testenv_*.py)",
    "reconciler run --repo https://git.example.com/ml/envs.git --branch main --interval 30s":
        "git.example.com stands for the reader's git server, which the test cannot reach",
    "reconciler run --repo file:///srv/envs.git --cluster gpu --leader-elect --kubeconfig demo/kubeconfig":
        "/srv/envs.git stands for the reader's repository; the controller runs as a process in tests/integration/e2e",
    "reconciler status --url http://127.0.0.1:8080":
        "needs a running controller on port 8080 (the e2e tests read /status from one on a free port)",
    "reconciler completion bash > /etc/bash_completion.d/reconciler":
        "writes a system folder; the bash script itself is tested in tests/unit/test_cli_tools.py",
    "source <(reconciler completion zsh)": "needs zsh, which is not installed here; bash cannot source a zsh script",
}
# Commands that run until stopped: started, given until their first report, then stopped with SIGTERM (exit 0).
LONG_RUNNING = {"reconciler dev sample-repo": "valid: ",
                "reconciler dev sample-repo --apply --kubeconfig demo/kubeconfig --cluster shared": "Applied"}
# plan and status exit 2 when something is pending, which depends on the examples run before them.
PENDING_IS_AN_ANSWER = ("reconciler plan", ".venv/bin/reconciler plan", "reconciler status")
_EXIT_CODE = re.compile(r"#\s*exit code (\d+)")


def _git(cwd: Path, *argv: str) -> None:
    subprocess.run(["git", "-c", "user.name=docs", "-c", "user.email=docs@example.com", *argv], cwd=cwd,
                   check=True, capture_output=True)


def _committed(path: Path) -> None:
    _git(path, "init", "--quiet", "-b", "main")
    _git(path, "add", ".")
    _git(path, "commit", "--quiet", "-m", "environments")


def _kubeconfig(source: Path, target: Path) -> None:
    """The test clusters' kubeconfig, plus a context ``admin@gpu`` as the examples of --context name it."""
    config = yaml.safe_load(source.read_text())
    gpu = next(c for c in config["contexts"] if c["name"] == "gpu")
    config["contexts"].append({**gpu, "name": "admin@gpu"})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(config))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, kubeconfig: Path) -> tuple[Path, dict[str, str], str]:
    """A checkout holding sample-repo (committed, for ``git checkout``), demo/kubeconfig, ~/.kube/config, a
    ``.venv/bin/reconciler``; beside it (not inside: validate looks for the repository around a file) ``envs``, an
    environments repository on a branch ahead of origin/main. The examples' namespaces are deleted after the
    module (hygiene.py)."""
    ws = tmp_path_factory.mktemp("docs")
    prefix = f"x{uuid.uuid4().hex[:6]}"
    shutil.move(private_repo(ws, prefix), ws / "sample-repo")
    _committed(ws)
    _kubeconfig(kubeconfig, ws / "demo" / "kubeconfig")
    _kubeconfig(kubeconfig, ws / "home" / ".kube" / "config")
    (ws / "home" / ".config" / "fish" / "completions").mkdir(parents=True)
    (ws / ".venv" / "bin").mkdir(parents=True)
    (ws / ".venv" / "bin" / "reconciler").symlink_to(Path(sys.executable).parent / "reconciler")
    pull_request = tmp_path_factory.mktemp("pull-request")
    envs, origin = pull_request / "envs", pull_request / "origin.git"
    shutil.copytree(ws / "sample-repo", envs)
    _committed(envs)
    _git(ws, "clone", "--quiet", "--bare", str(envs), str(origin))
    _git(envs, "remote", "add", "origin", str(origin))
    _git(envs, "fetch", "--quiet", "origin")
    prod = envs / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("gpu: 8", "gpu: 6"))
    _git(envs, "commit", "--quiet", "-am", "fewer GPUs for prod")
    env = {**os.environ, "HOME": str(ws / "home"), "KUBECONFIG": str(ws / "demo" / "kubeconfig"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    env["DOCS_PULL_REQUEST"] = str(pull_request)
    return ws, env, prefix


def _cwd(ws: Path, env: dict[str, str], command: str) -> Path:
    """A diff runs in a pull request's checkout: inside the environments repository, or above it with its path."""
    if command.startswith("reconciler diff --base"):
        return Path(env["DOCS_PULL_REQUEST"]) / "envs"
    return Path(env["DOCS_PULL_REQUEST"]) if command.startswith("reconciler diff envs") else ws


def _run(command: str, ws: Path, env: dict[str, str], prefix: str) -> None:
    line = command.replace("ml-", f"{prefix}-")
    if command in LONG_RUNNING:
        _stopped_after_first_report(line, ws, env, LONG_RUNNING[command])
        return
    done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=_cwd(ws, env, command), env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    said = _EXIT_CODE.search(command)
    allowed = {int(said.group(1))} if said else {0, 2} if command.startswith(PENDING_IS_AN_ANSWER) else {0}
    assert done.returncode in allowed, f"{command}\nexit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr}"


def _stopped_after_first_report(line: str, ws: Path, env: dict[str, str], marker: str) -> None:
    with subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=ws, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        seen: list[str] = []
        for output in process.stdout:
            seen.append(output)
            if marker in output:
                process.send_signal(signal.SIGTERM)
                break
        else:
            pytest.fail(f"{line}: ended before reporting {marker!r}:\n{''.join(seen)}")
        assert process.wait(timeout=60) == 0, "".join(seen)


def test_every_documented_command_runs_as_written(workspace: tuple[Path, dict[str, str], str]) -> None:
    ws, env, prefix = workspace
    commands = documented_examples.readme() + documented_examples.help_examples()
    for command in dict.fromkeys(commands):
        if command not in NOT_RUN:
            _run(command, ws, env, prefix)
    pull_request = Path(env["DOCS_PULL_REQUEST"])
    assert sorted(p.name for p in (ws / "rendered").iterdir() if not p.name.startswith(".")) == ["gpu", "shared"]
    for plan in (pull_request / "envs" / "plan.md", pull_request / "plan.md"):
        assert "quota-lowered" in plan.read_text()
    assert (ws / "home" / ".config" / "fish" / "completions" / "reconciler.fish").read_text().strip()


def test_every_command_not_run_is_still_documented() -> None:
    documented = set(documented_examples.readme() + documented_examples.help_examples())
    assert sorted(set(NOT_RUN) - documented) == []
    assert sorted(set(LONG_RUNNING) - documented) == []
