"""Agent health: apply --wait reports a rollout that does not complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import edit, private_repo, run_cli

pytestmark = pytest.mark.integration


def test_wait_reports_an_agent_that_does_not_become_ready(tmp_path: Path, kubeconfig: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "o")
    # No node carries the labels of this pool: the agents' pods stay Pending, so the rollout never completes.
    edit(repo, "clusters/shared.yaml", "  nodePools:\n", "  nodePools:\n    tpu: {nodeSelector: {accelerator: tpu}}\n")
    edit(repo, "environments/dev.yaml", "  agent:\n", "  agent:\n    nodePool: tpu\n")
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--wait", "2") == 1
    assert "still progressing after waiting 2s" in capsys.readouterr().out
