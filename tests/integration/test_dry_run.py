"""apply --dry-run: the API servers check every write and nothing is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testenv import controlplane

from .support import audit_marks, clients, private_repo, reconciler_writes, run_cli

pytestmark = pytest.mark.integration


def test_dry_run_changes_nothing(
    tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str], control_plane: controlplane.TestEnv
) -> None:
    repo = private_repo(tmp_path, "n")
    cluster = clients(repo, kubeconfig)
    marks = audit_marks(control_plane)
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--dry-run") == 0
    out = capsys.readouterr().out
    checked = re.search(r"the API servers checked (all )?(\d+)( of (\d+))? object\(s\) to write", out)
    assert checked is not None and int(checked.group(2)) > 0
    assert cluster["shared"].get("Namespace", None, "n-dev") is None
    assert reconciler_writes(marks) == {"shared": 0, "gpu": 0}
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) == 2
