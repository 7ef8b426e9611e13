"""When a ClusterQueue's counts can be trusted: only once Kueue has written its status after the stop."""

from __future__ import annotations

from typing import Any

from reconciler.kube.kueue import admitted, stopped


def _queue(reason: str, generation: int | None, admitted_now: int = 0, reserving: int = 0) -> dict[str, Any]:
    active = {"type": "Active", "status": "True" if reason == "Ready" else "False", "reason": reason}
    if generation is not None:
        active["observedGeneration"] = generation
    return {"status": {"conditions": [active], "admittedWorkloads": admitted_now, "reservingWorkloads": reserving}}


def test_counts_written_before_the_stop_are_not_trusted() -> None:
    assert not stopped(_queue("Ready", 3), 4)  # the status Kueue wrote before seeing stopPolicy
    assert not stopped(_queue("Stopped", 3), 4)  # stopped before, by someone else, and not yet seen since the patch
    assert not stopped({"status": {}}, 4)
    assert stopped(_queue("Stopped", 4), 4)
    assert stopped(_queue("Terminating", 5), 4)  # already being deleted: HoldAndDrain still evicts
    assert stopped(_queue("Stopped", None), 4)  # a Kueue that writes no observedGeneration


def test_a_workload_reserving_quota_counts_as_held() -> None:
    assert admitted(_queue("Stopped", 4, admitted_now=0, reserving=1)) == 1
    assert admitted(_queue("Stopped", 4, admitted_now=2, reserving=2)) == 2
    assert admitted(None) == 0
