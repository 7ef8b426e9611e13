"""A target a revision removed stays on /status as removed while the cluster converges that revision again (a
resync, or a wake-up on drift, finds no inventory to name it), and leaves when a new revision converges."""

from __future__ import annotations

from reconciler.controller.status import Status
from reconciler.controller.status_model import SyncOutcome, TargetStatus


def _status() -> Status:
    return Status("https://git.example.com/ml/environments.git", "main", "", "replica-a", leader_elect=False)


def _targets(status: Status) -> dict[str, str]:
    return {name: target["state"] for name, target in status.snapshot()["clusters"]["shared"]["targets"].items()}


def test_a_removed_target_stays_shown_while_its_revision_converges_again() -> None:
    status = _status()
    kept = TargetStatus(environment="prod", state="converged", revision="r2")
    status.synced("shared", SyncOutcome("converged", "r1", 0.1, targets={
        "ml-dev": TargetStatus(environment="dev", state="converged", revision="r1"),
        "ml-prod": TargetStatus(environment="prod", state="converged", revision="r1")}), 0, None)
    status.synced("shared", SyncOutcome("converged", "r2", 0.1, pruned=11, targets={
        "ml-dev": TargetStatus(environment="dev", state="removed"), "ml-prod": kept}), 0, None)
    status.synced("shared", SyncOutcome("converged", "r2", 0.1, targets={"ml-prod": kept}), 0, None)
    assert _targets(status) == {"ml-dev": "removed", "ml-prod": "converged"}

    status.synced("shared", SyncOutcome("converged", "r3", 0.1, targets={"ml-prod": kept}), 0, None)
    assert _targets(status) == {"ml-prod": "converged"}
