"""Ownership of a Platform's cluster-scoped Kueue objects: label, same Platform and its cluster inventory."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan import inventory, kueue_shared
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef

FLAVOR = ObjectRef("ResourceFlavor", "", "p-a100")
PRIORITY = ObjectRef("WorkloadPriorityClass", "", "p-priority-10")


def obj(ref: ObjectRef, platform: str | None = "p", **spec: Any) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "reconciler", "reconciler/platform": platform} if platform else {}
    return {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": ref.kind,
            "metadata": {"name": ref.name, "labels": labels}, "spec": spec}


def actions(changes: list[Any]) -> dict[str, str]:
    return {str(c.ref): c.action for c in changes}


def test_wanted_objects_are_created_updated_or_left_alone_when_ours() -> None:
    desired = [obj(FLAVOR, nodeLabels={"gpu": "a100"}), obj(PRIORITY)]
    live = {FLAVOR: obj(FLAVOR, nodeLabels={"gpu": "h100"}), PRIORITY: obj(PRIORITY)}
    changes = kueue_shared.plan_shared("p", desired, live, frozenset({FLAVOR, PRIORITY}))
    assert actions(changes) == {str(FLAVOR): "update"}
    assert [str(d) for d in changes[0].diffs] == ["spec.nodeLabels.gpu: h100 -> a100"]
    assert actions(kueue_shared.plan_shared("p", desired, {}, frozenset())) == {
        str(FLAVOR): "create", str(PRIORITY): "create"}


@pytest.mark.parametrize(("live", "owned", "says"), [
    (obj(FLAVOR, platform="other"), frozenset({FLAVOR}), "is Platform other's"),
    (obj(FLAVOR, platform=None), frozenset({FLAVOR}), "is not the reconciler's"),
    (obj(FLAVOR), frozenset(), "labelled as this Platform's but not in its inventory"),
])
def test_a_wanted_name_held_by_another_platform_or_nobody_is_a_conflict(
        live: dict[str, Any], owned: frozenset[ObjectRef], says: str) -> None:
    [change] = kueue_shared.plan_shared("p", [obj(FLAVOR)], {FLAVOR: live}, owned)
    assert change.action == "conflict"
    assert says in change.reason and "ResourceFlavor/p-a100" in change.reason and "never overwritten" in change.reason


@pytest.mark.parametrize("ref", [FLAVOR, PRIORITY])
def test_only_what_is_ours_and_no_longer_wanted_is_pruned(ref: ObjectRef) -> None:
    owned = frozenset({ref})
    assert actions(kueue_shared.plan_shared("p", [], {ref: obj(ref)}, owned)) == {str(ref): "delete"}
    for foreign in (obj(ref, platform="other"), obj(ref, platform=None)):
        assert kueue_shared.plan_shared("p", [], {ref: foreign}, owned) == []
    assert kueue_shared.plan_shared("p", [], {ref: obj(ref)}, frozenset()) == []  # labelled, not in the inventory
    assert kueue_shared.plan_shared("p", [], {}, owned) == []  # already gone


def test_the_inventory_is_recorded_before_creation_and_is_never_a_targets_inventory() -> None:
    changes = kueue_shared.plan_shared("p", [obj(FLAVOR), obj(PRIORITY)], {PRIORITY: obj(PRIORITY)},
                                       frozenset({PRIORITY}))
    recorded = kueue_shared.next_inventory(frozenset({PRIORITY}), changes)
    configmap = kueue_shared.to_configmap("p", recorded)
    assert configmap["metadata"]["name"] == "inventory.p.cluster"
    assert configmap["metadata"]["namespace"] == inventory.SYSTEM_NAMESPACE
    assert kueue_shared.owned_refs(configmap) == {FLAVOR, PRIORITY}
    assert inventory.from_configmap(configmap) is None  # listed with the targets' inventories, read as none
    assert kueue_shared.owned_refs(None) == frozenset()
    assert kueue_shared.owned_refs({"data": {inventory.DATA_KEY: "not json"}}) == frozenset()


def test_targets_writing_queues_are_refused_while_a_shared_object_is_in_conflict() -> None:
    queues = TargetPlan("gpu", "ml-prod", "prod", changes=(
        Change("unchanged", ObjectRef("LocalQueue", "ml-prod", "training"), desired={}),))
    plain = TargetPlan("gpu", "ml-dev", "dev",
                       changes=(Change("create", ObjectRef("Namespace", "", "ml-dev"), desired={}),))
    queues, plain = kueue_shared.refuse_queues([queues, plain], [Change("conflict", FLAVOR, desired={})])
    assert len(queues.refusals) == 1 and "ResourceFlavor/p-a100" in queues.refusals[0]
    assert plain.refusals == ()
    [plain] = kueue_shared.refuse_queues([plain], [Change("create", FLAVOR, desired={})])
    assert plain.refusals == ()
