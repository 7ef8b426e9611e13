"""What each command loads: the offline commands (validate, render, diff, version) load no Kubernetes client and no
stage they do not use, so a pre-commit hook pays for validation only. The client's import is most of a small
command's start-up; HTTP and TLS come next."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.gitrepo import GIT_ENV

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
# Runs one command in a fresh interpreter, then prints the reconciler's stage packages and the heavy libraries it
# had imported.
PROBE = """
import json, sys
from reconciler.cli import main as cli
code = cli.main(sys.argv[1:])
stages = {".".join(m.split(".")[:2]) for m in sys.modules if m.startswith("reconciler.")}
heavy = {m for m in sys.modules if m.split(".")[0] in ("kubernetes", "urllib3", "watchfiles")
         or m in ("http.client", "ssl", "urllib.request")}
print(json.dumps([code, sorted(stages), sorted(heavy)]), file=sys.stderr)
"""
# reconciler.source comes in for source/tree.py alone: which files are YAML and how large one may be, the same rules
# for a folder on disk and for a revision read from git (no git runner, no subprocess).
OFFLINE = {"reconciler.cli", "reconciler.config", "reconciler.errors", "reconciler.source"}


def _loaded(*argv: str, cwd: Path | None = None) -> tuple[int, set[str], list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=cwd, check=False)
    code, stages, heavy = json.loads(done.stderr.strip().splitlines()[-1])
    return code, set(stages), heavy


def _git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def test_validate_loads_the_configuration_stage_only() -> None:
    code, stages, heavy = _loaded("validate", str(SAMPLE))
    assert (code, heavy) == (0, [])
    assert stages == OFFLINE


@pytest.mark.parametrize("argv", [("render", str(SAMPLE)), ("render", str(SAMPLE), "--env", "prod", "-o", "json")])
def test_render_loads_the_renderer_and_no_later_stage(argv: tuple[str, ...]) -> None:
    code, stages, heavy = _loaded(*argv)
    assert (code, heavy) == (0, [])
    assert stages == OFFLINE | {"reconciler.render"}


def test_version_loads_no_stage_it_does_not_print() -> None:
    code, stages, heavy = _loaded("version")
    assert (code, heavy) == (0, [])
    assert stages <= OFFLINE | {"reconciler.version"}


def test_diff_reads_git_and_renders_but_reaches_no_cluster(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "landscape")
    quota = next(p for p in repo.rglob("*.yaml") if "gpu: 8" in p.read_text())
    quota.write_text(quota.read_text().replace("gpu: 8", "gpu: 6"))
    _git(repo, "commit", "-qam", "fewer GPUs in prod")
    code, stages, heavy = _loaded("diff", str(repo), "--base", "HEAD~1", "--now", "2025-06-03T10:00:00Z", cwd=repo)
    assert (code, heavy) == (0, [])
    assert not stages & {"reconciler.kube", "reconciler.converge", "reconciler.controller"}


def test_plan_loads_the_client_it_needs_and_not_the_kubernetes_package(tmp_path: Path) -> None:
    """The other side: the laziness must not hide a command's own needs (plan fails on the missing kubeconfig,
    after loading the client that would have read it); that client reads the kubeconfig itself, so a command that
    converges pays neither for the ``kubernetes`` package nor for urllib3."""
    code, stages, heavy = _loaded("plan", str(SAMPLE), "--kubeconfig", str(tmp_path / "missing"))
    assert code == 1
    assert "reconciler.kube" in stages
    assert not [m for m in heavy if m.split(".")[0] in ("kubernetes", "urllib3")], heavy


# Reading, validating and resolving a repository: what only a command that reads one should load.
VALIDATION = ("jsonschema", "fastjsonschema", "reconciler.config.load", "reconciler.config.schema",
              "reconciler.config.resolve")
HELP_PROBE = """
import sys
from reconciler.cli import main as cli
try:
    cli.main(sys.argv[2:])
except SystemExit:
    pass
print(sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1].split(",")))), file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [("version",), ("--help",), ("validate", "--help"), ("run", "--help")])
def test_commands_that_read_no_repository_load_no_schema_validation(argv: tuple[str, ...]) -> None:
    done = subprocess.run([sys.executable, "-c", HELP_PROBE, ",".join(VALIDATION), *argv], capture_output=True,
                          text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


def _large_repository(directory: Path, environments: int) -> Path:
    """sample-repo with enough environments that every kind's check is compiled from its first document."""
    shutil.copytree(SAMPLE, directory)
    dev = next(p for p in (directory / "environments").glob("*.yaml") if "name: dev" in p.read_text())
    text = dev.read_text()
    agent = "3f9c1a2e5b7d4c8e9a0b1c2d3e4f5a6b"
    assert agent in text
    copies = [text.replace("name: dev", f"name: copy-{n}", 1).replace("namespace: ml-dev", f"namespace: ml-copy-{n}")
              .replace(agent, f"{n:032x}") for n in range(environments)]
    (directory / "environments" / "copies.yaml").write_text("---\n".join(copies))
    return directory


def test_a_large_valid_repository_is_validated_without_jsonschema(tmp_path: Path) -> None:
    """jsonschema writes the messages of errors; a valid repository of many documents never needs it (its import
    costs about as much as validating a hundred documents with the compiled checks)."""
    repo = _large_repository(tmp_path / "repo", 60)
    code, _, _ = _loaded("validate", str(repo))
    assert code == 0
    done = subprocess.run([sys.executable, "-c", HELP_PROBE, "jsonschema,fastjsonschema", "validate", str(repo)],
                          capture_output=True, text=True, check=True)
    loaded = done.stderr.strip().splitlines()[-1]
    assert "'fastjsonschema'" in loaded and "'jsonschema'" not in loaded, loaded


def test_an_error_in_a_large_repository_still_gets_jsonschemas_message_and_line(tmp_path: Path) -> None:
    repo = _large_repository(tmp_path / "repo", 60)
    copies = repo / "environments" / "copies.yaml"
    lines = copies.read_text().splitlines()
    line = next(i for i, text in enumerate(lines) if "name: copy-30" in text) + 1  # its spec: line
    lines.insert(line + 1, "  colour: blue")
    copies.write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "reconciler.cli", "validate", str(repo)], capture_output=True,
                          text=True, check=False)
    shown = done.stdout + done.stderr
    assert done.returncode == 1 and "1 error(s)" in shown, shown
    assert f"environments/copies.yaml:{line + 2}: spec.colour: unknown field" in shown, shown
