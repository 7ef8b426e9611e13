"""Commands that reach no cluster load no Kubernetes client: its import is most of a small command's start-up."""

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
# Runs one command in a fresh interpreter, then prints which of the client's packages it had imported.
PROBE = """
import json, sys
from reconciler import cli
code = cli.main(sys.argv[1:])
print(json.dumps([code, sorted({m for m in sys.modules if m.split(".")[0] in ("kubernetes", "urllib3")
                                or m.startswith("reconciler.kube")})]), file=sys.stderr)
"""


def _loaded(*argv: str, cwd: Path | None = None) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, cwd=cwd, check=False)
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    return code, modules


def _git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", *argv], cwd=repo, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


@pytest.mark.parametrize("argv", [("validate", str(SAMPLE)), ("render", str(SAMPLE)),
                                  ("render", str(SAMPLE), "--env", "prod", "-o", "json")])
def test_validate_and_render_import_no_kubernetes_client(argv: tuple[str, ...]) -> None:
    assert _loaded(*argv) == (0, [])


def test_diff_imports_no_kubernetes_client(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE, repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "landscape")
    quota = next(p for p in repo.rglob("*.yaml") if "gpu: 8" in p.read_text())
    quota.write_text(quota.read_text().replace("gpu: 8", "gpu: 6"))
    _git(repo, "commit", "-qam", "fewer GPUs in prod")
    code, modules = _loaded("diff", str(repo), "--base", "HEAD~1", "--now", "2025-06-03T10:00:00Z", cwd=repo)
    assert (code, modules) == (0, [])
