"""What /status says about each target after a converge: quota as read, agent health, objects and changes."""

from __future__ import annotations

from reconciler.controller.status_model import TargetStatus
from reconciler.controller.target_facts import add_facts
from reconciler.converge.agent_health import AgentHealth
from reconciler.converge.results import ClusterResult, Entry
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef

QUOTA = ObjectRef("ResourceQuota", "ml-prod", "environment-quota")
NAMESPACE = ObjectRef("Namespace", "", "ml-prod")


def plan(action: str) -> TargetPlan:
    desired = {"kind": "ResourceQuota", "metadata": {"name": "environment-quota", "namespace": "ml-prod"},
               "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}}
    return TargetPlan("gpu", "ml-prod", "prod", changes=(Change(action, QUOTA, desired=desired),  # type: ignore[arg-type]
                                                         Change("unchanged", NAMESPACE, desired={})))


def written(action: str) -> list[Entry]:
    """What the converge of ``plan(action)`` did: its one write."""
    return [Entry(action, "done", QUOTA, "ml-prod")]  # type: ignore[arg-type]


def test_a_quota_just_created_shows_its_limits_with_usage_not_counted_yet() -> None:
    targets = {"ml-prod": TargetStatus("prod", "converged", "abc")}
    result = ClusterResult("gpu", targets=(plan("create"),), entries=written("create"),
                           health=[AgentHealth("gpu/ml-prod", "progressing", "0/2 replicas available", 0, 2)])
    add_facts(targets, result, "abc", drift=False, now="2026-12-01T21:00:00Z")
    shown = targets["ml-prod"]
    assert shown.quota == {"gpu": {"used": None, "hard": "8"}}
    assert shown.agent == {"state": "progressing", "ready": 0, "wanted": 2, "detail": "0/2 replicas available"}
    assert shown.objects == ["Namespace/ml-prod", "ResourceQuota/ml-prod/environment-quota"]
    assert shown.changes == [{"time": "2026-12-01T21:00:00Z", "revision": "abc", "action": "create",
                              "object": "ResourceQuota/ml-prod/environment-quota"}]
    assert shown.drift_corrected == 0


def test_the_live_quota_wins_and_a_resync_that_changed_something_undid_drift() -> None:
    targets = {"ml-prod": TargetStatus("prod", "converged", "abc")}
    result = ClusterResult("gpu", targets=(plan("update"),), entries=written("update"),
                           quotas={"ml-prod": {"gpu": {"used": "3", "hard": "6"}}})
    add_facts(targets, result, "abc", drift=True, now="2026-12-01T21:00:00Z")
    assert targets["ml-prod"].quota == {"gpu": {"used": "3", "hard": "6"}}
    assert targets["ml-prod"].drift_corrected == 1 and targets["ml-prod"].agent is None


def test_a_failed_target_records_no_change_as_written() -> None:
    targets = {"ml-prod": TargetStatus("prod", "failed", None, "denied")}
    add_facts(targets, ClusterResult("gpu", targets=(plan("update"),)), "abc", drift=False, now="t")
    assert targets["ml-prod"].changes == []


def test_last_changes_accumulate_newest_first_and_stay_short() -> None:
    from reconciler.controller.status import MAX_CHANGES, Status
    from reconciler.controller.status_model import SyncOutcome

    status = Status("r", "main", "", "replica-a", leader_elect=False)
    for number in range(MAX_CHANGES + 5):
        change = {"time": f"t{number}", "revision": f"r{number}", "action": "update", "object": "ConfigMap/a/b"}
        target = TargetStatus("prod", "converged", f"r{number}", changes=[change])
        status.synced("gpu", SyncOutcome("converged", f"r{number}", 0.1, targets={"ml-prod": target}), 0, None)
    changes = status.snapshot()["clusters"]["gpu"]["targets"]["ml-prod"]["changes"]
    assert len(changes) == MAX_CHANGES
    assert [c["revision"] for c in changes[:2]] == [f"r{MAX_CHANGES + 4}", f"r{MAX_CHANGES + 3}"]
