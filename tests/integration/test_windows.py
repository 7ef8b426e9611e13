"""Change windows: changes outside the Platform's window are held, and go through once it opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import clients, edit, private_repo
from .support import converged as _converged
from .support import live_quota as _quota

pytestmark = pytest.mark.integration


def test_changes_outside_the_change_window_are_held(tmp_path: Path, kubeconfig: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "r")
    _converged(repo, kubeconfig, "--cluster", "gpu")
    # prod may change only on Mondays 09:00-10:00 UTC: a window that is closed at the moment below.
    edit(repo, "platform.yaml", "  massDeletePercent: 25\n",
         "  massDeletePercent: 25\n  changeWindows:\n    - {environments: [prod], days: [mon], start: \"09:00\", "
         "end: \"10:00\"}\n")
    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    from datetime import UTC, datetime

    from reconciler.config import load_landscape
    from reconciler.converge import engine as converge

    landscape = load_landscape(repo)
    gpu = clients(repo, kubeconfig)["gpu"]
    tuesday = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    (held,) = converge.converge(landscape, {"gpu": gpu}, converge.ConvergeOptions(now=tuesday),
                                landscape.select("gpu"), lambda _: None)
    assert not held.ok and held.targets[0].held.startswith("outside the change window of prod")
    assert _quota(gpu, "r-prod")["requests.nvidia.com/gpu"] == "8"
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    (applied,) = converge.converge(landscape, {"gpu": gpu}, converge.ConvergeOptions(now=monday),
                                   landscape.select("gpu"), lambda _: None)
    assert applied.ok and _quota(gpu, "r-prod")["requests.nvidia.com/gpu"] == "4"
