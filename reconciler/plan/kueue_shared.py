"""Pure: the plan of a Platform's cluster-scoped Kueue objects (ResourceFlavors, WorkloadPriorityClasses).

These objects belong to no namespace, so no target's inventory can own them: each Platform keeps one inventory
per cluster (``inventory.<platform>.cluster`` in reconciler-system). An object is ours only if it carries our
label, the same Platform's label *and* is in that inventory; anything else with a wanted name is a conflict,
never overwritten, and only ours is ever pruned. The inventory is written before the first creation, so an
object we create is never left unowned by a failed run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, PLATFORM_LABEL
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.compare import object_diffs
from reconciler.plan.inventory import DATA_KEY, INVENTORY_LABEL, PART_OF_LABEL, SYSTEM_NAMESPACE, ObjectRef

SHARED_KINDS = ("ResourceFlavor", "WorkloadPriorityClass")
# Listed with the targets' inventories (no request of its own); its payload names no namespace, so it is never
# read as a target's inventory.
INVENTORY_LABEL_VALUE = "true"
Object = dict[str, Any]


def configmap_name(platform: str) -> str:
    return f"inventory.{platform}.cluster"


def to_configmap(platform: str, owned: Iterable[ObjectRef]) -> Object:
    payload = {"platform": platform, "objects": sorted({str(ref) for ref in owned})}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": configmap_name(platform), "namespace": SYSTEM_NAMESPACE,
                         "labels": {INVENTORY_LABEL: INVENTORY_LABEL_VALUE, PART_OF_LABEL: MANAGED_BY_VALUE,
                                    PLATFORM_LABEL: platform}},
            "data": {DATA_KEY: json.dumps(payload, indent=1, sort_keys=True)}}


def owned_refs(configmap: Object | None) -> frozenset[ObjectRef]:
    """What the stored inventory owns; nothing when there is none (or it cannot be read, which owns nothing)."""
    try:
        objects = json.loads((configmap or {}).get("data", {})[DATA_KEY])["objects"]
        return frozenset(ObjectRef.parse(str(text)) for text in objects)
    except (KeyError, ValueError, TypeError):
        return frozenset()


def is_ours(obj: Object, platform: str, owned: frozenset[ObjectRef]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return (labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE and labels.get(PLATFORM_LABEL) == platform
            and ObjectRef.of(obj) in owned)


def plan_shared(platform: str, desired: Iterable[Object], live: Mapping[ObjectRef, Object],
                owned: frozenset[ObjectRef]) -> list[Change]:
    """Create, update, conflict for each wanted object; delete for what the inventory owns and no longer wants."""
    wanted = {ObjectRef.of(o): o for o in desired}
    changes = [_change(platform, ref, obj, live.get(ref), owned) for ref, obj in sorted(wanted.items())]
    for ref in sorted(owned - wanted.keys()):
        found = live.get(ref)
        if found is not None and is_ours(found, platform, owned):
            changes.append(Change("delete", ref, live=found, reason=f"no longer wanted by Platform {platform}"))
    return [c for c in changes if c.action != "unchanged"]


def _change(platform: str, ref: ObjectRef, desired: Object, live: Object | None,
            owned: frozenset[ObjectRef]) -> Change:
    if live is None:
        return Change("create", ref, desired=desired)
    if not is_ours(live, platform, owned):
        return Change("conflict", ref, desired=desired, live=live, reason=_whose(live, platform, ref))
    diffs = tuple(object_diffs(desired, live))
    return Change("update" if diffs else "unchanged", ref, desired=desired, live=live, diffs=diffs)


def _whose(live: Object, platform: str, ref: ObjectRef) -> str:
    labels = live.get("metadata", {}).get("labels") or {}
    other = labels.get(PLATFORM_LABEL) if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE else None
    owner = (f"Platform {other}'s" if other and other != platform
             else "labelled as this Platform's but not in its inventory" if other else "not the reconciler's")
    return (f"{ref} exists and is {owner}: it is never overwritten. Rename the node pool or priority, or delete "
            f"or relabel the object by hand if it may be taken over")


def next_inventory(owned: frozenset[ObjectRef], changes: Iterable[Change]) -> frozenset[ObjectRef]:
    """Recorded before writing: what is owned now plus what is about to be created."""
    return owned | {c.ref for c in changes if c.action == "create"}


def stored_inventory(configmaps: Iterable[Object], platform: str) -> Object | None:
    """The Platform's cluster inventory among the inventories listed in the system namespace."""
    name = configmap_name(platform)
    return next((c for c in configmaps if c.get("metadata", {}).get("name") == name), None)


def refuse_queues(targets: Sequence[TargetPlan], shared: Sequence[Change]) -> list[TargetPlan]:
    """A ClusterQueue would admit onto a flavor that is not the Platform's (its node labels are someone else's
    to change): the targets that write Kueue's queues are refused until the conflict is resolved."""
    conflicts = [str(c.ref) for c in shared if c.action == "conflict"]
    return [_refused_queues(target, conflicts) if conflicts else target for target in targets]


def _refused_queues(target: TargetPlan, conflicts: list[str]) -> TargetPlan:
    if not any(c.ref.kind in ("ClusterQueue", "LocalQueue") and c.desired is not None for c in target.changes):
        return target
    return replace(target, refusals=(*target.refusals, (
        f"{target.key}: its Kueue queues would use {', '.join(conflicts)}, which this Platform does not "
        "own (see the conflict above); nothing is written to this target until that object is renamed, "
        "removed or relabelled")))
