"""Drift: a change made on the cluster by hand shows in the plan and the next apply undoes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import clients, private_repo, run_cli
from .support import converged as _converged
from .support import live_quota as _quota

pytestmark = pytest.mark.integration


def test_drift_is_shown_by_plan_and_undone_by_apply(
    tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = private_repo(tmp_path, "b")
    _converged(repo, kubeconfig)
    gpu = clients(repo, kubeconfig)["gpu"]
    gpu.merge_patch(
        "ResourceQuota", "b-prod", "environment-quota", {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}
    )
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 2
    shown = capsys.readouterr().out
    assert "~ ResourceQuota/b-prod/environment-quota" in shown
    assert "spec.hard.requests.nvidia.com/gpu: 1 -> 8" in shown
    _converged(repo, kubeconfig, "--cluster", "gpu")
    assert _quota(gpu, "b-prod")["requests.nvidia.com/gpu"] == "8"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0
