"""The plan's Kueue steps: a ClusterQueue's removal is a drain then a delete; a change shows admitted usage."""

from __future__ import annotations

from reconciler.plan import kueue as kueue_plan
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef

LIVE = {"status": {"flavorsUsage": [
    {"name": "p-a100", "resources": [{"name": "nvidia.com/gpu", "total": "3", "borrowed": "1"}]},
    {"name": "p-cpu", "resources": [{"name": "cpu", "total": "0", "borrowed": "0"}]},
]}}


def plan(*changes: Change) -> TargetPlan:
    return TargetPlan("gpu", "ml-prod", "prod", changes=changes)


def test_removal_of_a_cluster_queue_is_shown_as_a_drain_and_a_change_beside_its_usage() -> None:
    queue, local = ObjectRef("ClusterQueue", "", "p-prod"), ObjectRef("LocalQueue", "ml-prod", "training")
    removed = plan(Change("delete", queue, live=LIVE), Change("delete", local))
    changed = plan(Change("update", queue, desired={}, live=LIVE))
    removed, changed = kueue_plan.mark_drains([removed, changed])
    assert "drained first (stopPolicy HoldAndDrain" in removed.changes[0].reason
    assert removed.changes[1].reason == ""
    assert changed.changes[0].reason == "admitted now: p-a100 nvidia.com/gpu 3 (1 borrowed)"


def test_kueue_kinds_are_read_only_where_a_target_wants_them_or_an_inventory_holds_them() -> None:
    order = ("Namespace", "ClusterQueue", "LocalQueue")
    assert kueue_plan.kinds_to_read(order, {"a/b": [{"kind": "Namespace"}]}, {}) == ["Namespace"]
    assert kueue_plan.kinds_to_read(order, {"a/b": [{"kind": "LocalQueue"}]}, {}) == list(order)
