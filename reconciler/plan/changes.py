"""Pure planning of one target: desired objects + live objects + inventory -> create, update, delete or leave.

A plan is a value: every ``Change`` and ``TargetPlan`` is frozen, built once here (and amended only by the pure
steps of ``reconciler.plan.cluster``, which return new values), shown as it is, and executed as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from reconciler.config.model import ORPHANED_ANNOTATION, Target
from reconciler.plan import ownership, quota
from reconciler.plan.compare import MISSING, FieldDiff, object_diffs
from reconciler.plan.inventory import Inventory, ObjectRef
from reconciler.render.objects import APPLY_ORDER

Action = Literal["create", "update", "delete", "unchanged", "conflict", "orphan", "keep"]
PENDING: tuple[Action, ...] = ("create", "update", "delete", "orphan")
Object = dict[str, Any]


@dataclass(frozen=True)
class Change:
    action: Action
    ref: ObjectRef
    desired: Object | None = None
    live: Object | None = None
    diffs: tuple[FieldDiff, ...] = ()
    reason: str = ""
    replace: bool = False  # a field the API server never changes differs: deleted, then created again

    def __post_init__(self) -> None:
        object.__setattr__(self, "diffs", tuple(self.diffs))


@dataclass(frozen=True)
class TargetPlan:
    cluster: str
    namespace: str
    environment: str
    protected: bool = False
    removed: bool = False  # the environment (or this target of it) is no longer in the repository
    on_remove: str = "orphan"  # what removing the environment later does, recorded in the inventory
    changes: tuple[Change, ...] = ()
    warnings: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    held: str = ""  # why pending changes wait (a change window is closed); nothing is written while set
    foreign_namespace: bool = False  # the namespace is not this environment's: refused, nothing is written into it

    def __post_init__(self) -> None:
        for name in ("changes", "warnings", "refusals"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}"

    def by_action(self, *actions: Action) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def pending(self) -> bool:
        return any(c.action in PENDING for c in self.changes)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for change in self.changes:
            result[change.action] = result.get(change.action, 0) + 1
        return result


@dataclass(frozen=True)
class PlanOptions:
    allow_mass_delete: bool = False
    mass_delete_percent: int = 25
    # Why a target may not be written from here (e.g. the controller manages it at a newer revision), or None.
    guard: Callable[[Inventory | None], str | None] | None = None
    change_windows: bool = True  # False: --ignore-change-windows, nothing is held
    now: datetime | None = None  # the clock for change windows (tests); the real time when None


def apply_order(ref: ObjectRef) -> tuple[int, str, str]:
    return APPLY_ORDER.index(ref.kind) if ref.kind in APPLY_ORDER else len(APPLY_ORDER), ref.namespace, ref.name


def plan_target(target: Target, desired: list[Object], live: Mapping[ObjectRef, Object],
                inventory: Inventory | None, options: PlanOptions) -> TargetPlan:
    """The plan of one target still described by the repository."""
    plan = TargetPlan(target.cluster.name, target.namespace, target.environment.name,
                      protected=target.environment.protected, on_remove=target.environment.on_remove)
    wanted = {ObjectRef.of(obj): obj for obj in desired}
    foreign = _refuse_foreign_namespace(target, wanted, live, inventory, plan)
    if foreign is not None:
        return foreign
    refused = options.guard(inventory) if options.guard is not None else None
    if refused is not None:
        return replace(plan, refusals=(f"{target.cluster.name}/{target.namespace}: {refused}",))
    changes, warnings = _wanted_changes(target, wanted, live, inventory)
    previous = set(inventory.objects) if inventory else set()
    changes += _stale_changes(previous - set(wanted), live, inventory)
    return replace(plan, changes=tuple(changes), warnings=tuple(warnings),
                   refusals=_guard_mass_delete(changes, len(previous), options))


def _wanted_changes(target: Target, wanted: dict[ObjectRef, Object], live: Mapping[ObjectRef, Object],
                    inventory: Inventory | None) -> tuple[list[Change], list[str]]:
    changes: list[Change] = []
    warnings: list[str] = []
    taken: list[str] = []
    for ref, obj in wanted.items():
        current = live.get(ref)
        if current is None:
            changes.append(Change("create", ref, desired=obj))
            continue
        verdict = ownership.judge(target, ref, current, inventory)
        if verdict.claim == "take-over":
            taken.append(str(verdict.owner))
        if verdict.claim == "conflict":
            changes.append(Change("conflict", ref, desired=obj, live=current, reason=verdict.reason))
            continue
        diffs = object_diffs(obj, current) + _orphan_note(current)
        # An unchanged object's live copy is not kept: nothing after the plan reads it, and a plan would otherwise
        # hold every live object of the cluster (health reads the Deployments from the plan's state).
        change = Change("update" if diffs else "unchanged", ref, desired=obj, live=current if diffs else None,
                        diffs=tuple(diffs), reason=verdict.reason)
        changes.append(_replace_if_immutable(change))
        if ref.kind == "ResourceQuota":
            warnings.extend(quota.below_usage(target.key, obj, current))
    if taken:
        warnings.append(f"takes over {len(taken)} object(s) of {', '.join(sorted(set(taken)))} (takeOver): "
                        f"their labels change to environment {target.environment.name}; remove takeOver from "
                        "the environment once this is applied")
    return changes, warnings


def _stale_changes(stale: set[ObjectRef], live: Mapping[ObjectRef, Object],
                   inventory: Inventory | None) -> list[Change]:
    """What the inventory holds and the repository no longer wants, in reverse apply order."""
    changes = []
    for ref in sorted(stale, key=apply_order, reverse=True):
        current = live.get(ref)
        if current is None or inventory is None or not ownership.may_prune(current, inventory):
            continue  # already gone, or no longer ours: never deleted, and it leaves the inventory
        if ref.kind == "Namespace":
            changes.append(Change("keep", ref, live=current, reason="a namespace is never deleted implicitly"))
            continue
        changes.append(Change("delete", ref, live=current, reason="no longer in the repository"))
    return changes


# Fields the API server refuses to change (a Deployment's selector names the environment, so a takeOver changes it;
# Kueue's validation keeps a LocalQueue on its ClusterQueue), and what replacing the object means.
IMMUTABLE_FIELDS = {
    "Deployment": (("spec.selector",), "its spec.selector cannot change: it is deleted and created again "
                   "(its pods restart)"),
    "LocalQueue": (("spec.clusterQueue",), "its ClusterQueue cannot change: it is deleted and created again "
                   "(workloads still queued in it must be submitted again)"),
}


def _replace_if_immutable(change: Change) -> Change:
    immutable, why = IMMUTABLE_FIELDS.get(change.ref.kind, ((), ""))
    if not immutable or not any(diff.path.startswith(immutable) for diff in change.diffs):
        return change
    return replace(change, replace=True, reason="; ".join(filter(None, (change.reason, why))))


def _refuse_foreign_namespace(target: Target, wanted: dict[ObjectRef, Object], live: Mapping[ObjectRef, Object],
                              inventory: Inventory | None, plan: TargetPlan) -> TargetPlan | None:
    """A namespace that is not this environment's is left alone whole: not one object is written into it."""
    ref = ObjectRef("Namespace", "", target.namespace)
    current = live.get(ref)
    why = ownership.foreign_inventory(target, inventory)
    if why is None and current is not None:
        verdict = ownership.judge(target, ref, current, inventory)
        why = verdict.reason if verdict.claim == "conflict" else None
    if why is None:
        return None
    conflict = () if current is None else (Change("conflict", ref, desired=wanted.get(ref), live=current, reason=why),)
    return replace(plan, foreign_namespace=True, changes=conflict, refusals=(
        f"namespace {target.namespace} on cluster {target.cluster.name} {why}. Nothing of environment "
        f"{target.environment.name} is written into it (no binding, quota, policy, agent or inventory entry)",))


def _guard_mass_delete(changes: Sequence[Change], managed: int, options: PlanOptions) -> tuple[str, ...]:
    deletions = sum(1 for c in changes if c.action == "delete")
    if not deletions or options.allow_mass_delete or managed == 0:
        return ()
    share = 100 * deletions / managed
    if share <= options.mass_delete_percent:
        return ()
    return (f"would delete {deletions} of {managed} managed objects ({share:.0f}%, over the "
            f"{options.mass_delete_percent}% limit); nothing in this target is deleted. If this is intended, "
            "re-run with --allow-mass-delete",)


def _orphan_note(live: Object) -> list[FieldDiff]:
    """An environment that came back takes its objects back: the orphan annotation goes."""
    note = (live.get("metadata", {}).get("annotations") or {}).get(ORPHANED_ANNOTATION)
    return [] if note is None else [FieldDiff(f"metadata.annotations.{ORPHANED_ANNOTATION}", note, MISSING)]
