"""Pure planning: desired objects + live objects + inventory -> what to create, update, delete or leave.

Only the fields the reconciler manages are compared: desired must be contained in live, with quantities
normalised ("1Gi" == "1024Mi"), so fields the API server defaults never show as drift. A field the reconciler
applied before and no longer wants (found in the live object's managedFields) is a change too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler import ownership
from reconciler.config.model import ENVIRONMENT_LABEL, FIELD_MANAGER, ORPHANED_ANNOTATION, Target
from reconciler.inventory import Inventory, ObjectRef
from reconciler.quantity import parse_quantity, quantities_equal
from reconciler.render.objects import APPLY_ORDER

Action = Literal["create", "update", "delete", "unchanged", "conflict", "orphan", "keep"]
Object = dict[str, Any]
_MISSING = object()


@dataclass(frozen=True)
class FieldDiff:
    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    if value is _MISSING or value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass
class Change:
    action: Action
    ref: ObjectRef
    desired: Object | None = None
    live: Object | None = None
    diffs: list[FieldDiff] = field(default_factory=list)
    reason: str = ""
    replace: bool = False  # a field the API server never changes differs: deleted, then created again


@dataclass
class TargetPlan:
    cluster: str
    namespace: str
    environment: str
    protected: bool = False
    removed: bool = False  # the environment (or this target of it) is no longer in the repository
    on_remove: str = "orphan"
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    held: str = ""  # why pending changes wait (a change window is closed); nothing is written while set
    foreign_namespace: bool = False  # the namespace is not this environment's: refused, nothing is written into it

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}"

    def by_action(self, *actions: Action) -> list[Change]:
        return [c for c in self.changes if c.action in actions]

    @property
    def pending(self) -> bool:
        return any(c.action in ("create", "update", "delete", "orphan") for c in self.changes)

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for change in self.changes:
            result[change.action] = result.get(change.action, 0) + 1
        return result


@dataclass
class Plan:
    targets: list[TargetPlan] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # clusters that could not be read

    @property
    def pending(self) -> bool:
        return any(t.pending for t in self.targets)

    @property
    def refused(self) -> bool:
        return any(t.refusals for t in self.targets)


@dataclass(frozen=True)
class PlanOptions:
    allow_mass_delete: bool = False
    mass_delete_percent: int = 25
    # Why a target may not be written from here (e.g. the controller manages it at a newer revision), or None.
    guard: Callable[[Inventory | None], str | None] | None = None


# -- comparison ------------------------------------------------------------------------------------------------------

def _equal(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return type(desired) is type(live) and desired == live
    if isinstance(desired, str | int | float) and isinstance(live, str | int | float):
        return quantities_equal(desired, live)
    return bool(desired == live)


def contained_diffs(desired: Any, live: Any, path: str = "") -> Iterator[FieldDiff]:
    """Differences where ``desired`` is not contained in ``live`` (extra live fields are fine)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            yield FieldDiff(path or ".", live if live is not None else _MISSING, desired)
            return
        for key, value in desired.items():
            yield from contained_diffs(value, live.get(key, _MISSING), f"{path}.{key}" if path else key)
    elif isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            yield FieldDiff(path, live, desired)
            return
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            if any(True for _ in contained_diffs(want, have, f"{path}[{index}]")):
                yield FieldDiff(path, live, desired)
                return
    elif live is _MISSING or not _equal(desired, live):
        yield FieldDiff(path, live, desired)


def _owned_paths(fields: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Map-key paths in a managedFields FieldsV1 tree; a list's items count as the list itself."""
    for key, sub in fields.items():
        if key == ".":
            continue
        if not key.startswith("f:"):
            yield prefix  # k:/v:/i: entries: the owner has items of the list at ``prefix``
            continue
        path = (*prefix, key[2:])
        if isinstance(sub, dict) and any(k != "." for k in sub):
            yield from _owned_paths(sub, path)
        else:
            yield path


def _has_path(obj: Any, path: tuple[str, ...]) -> bool:
    for step in path:
        if not isinstance(obj, dict) or step not in obj:
            return False
        obj = obj[step]
    return True


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj[step]
    return obj


def removed_fields(desired: Object, live: Object) -> list[FieldDiff]:
    """Fields the reconciler applied before (per managedFields) that the desired object no longer has."""
    owned: set[tuple[str, ...]] = set()
    for entry in live.get("metadata", {}).get("managedFields", []) or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            owned.update(_owned_paths(entry.get("fieldsV1", {})))
    return [
        FieldDiff(".".join(path), _get_path(live, path), _MISSING)
        for path in sorted(owned)
        if path and not _has_path(desired, path) and _has_path(live, path)
    ]


def object_diffs(desired: Object, live: Object) -> list[FieldDiff]:
    return [*contained_diffs(desired, live), *removed_fields(desired, live)]


# -- planning --------------------------------------------------------------------------------------------------------

def _order(ref: ObjectRef) -> tuple[int, str, str]:
    return APPLY_ORDER.index(ref.kind) if ref.kind in APPLY_ORDER else len(APPLY_ORDER), ref.namespace, ref.name


def plan_target(target: Target, desired: list[Object], live: dict[ObjectRef, Object],
                inventory: Inventory | None, options: PlanOptions) -> TargetPlan:
    """The plan of one target still described by the repository."""
    result = TargetPlan(target.cluster.name, target.namespace, target.environment.name,
                        protected=target.environment.protected)
    wanted = {ObjectRef.of(obj): obj for obj in desired}
    if _refuse_foreign_namespace(target, wanted, live, inventory, result):
        return result
    refused = options.guard(inventory) if options.guard is not None else None
    if refused is not None:
        result.refusals.append(f"{target.cluster.name}/{target.namespace}: {refused}")
        return result
    taken: list[str] = []
    for ref, obj in wanted.items():
        current = live.get(ref)
        if current is None:
            result.changes.append(Change("create", ref, desired=obj))
            continue
        verdict = ownership.judge(target, ref, current, inventory)
        if verdict.claim == "take-over":
            taken.append(str(verdict.owner))
        if verdict.claim == "conflict":
            result.changes.append(Change("conflict", ref, desired=obj, live=current, reason=verdict.reason))
            continue
        diffs = object_diffs(obj, current) + _orphan_note(current)
        change = Change("update" if diffs else "unchanged", ref, desired=obj, live=current, diffs=diffs,
                        reason=verdict.reason)
        result.changes.append(_replace_if_immutable(change))
        if ref.kind == "ResourceQuota":
            result.warnings.extend(_quota_below_usage(target, obj, current))
    if taken:
        result.warnings.append(f"takes over {len(taken)} object(s) of {', '.join(sorted(set(taken)))} (takeOver): "
                               f"their labels change to environment {target.environment.name}; remove takeOver from "
                               "the environment once this is applied")
    previous = set(inventory.objects) if inventory else set()
    for ref in sorted(previous - set(wanted), key=_order, reverse=True):
        current = live.get(ref)
        if current is None or inventory is None or not ownership.may_prune(current, inventory):
            continue  # already gone, or no longer ours: never deleted, and it leaves the inventory
        if ref.kind == "Namespace":
            result.changes.append(Change("keep", ref, live=current, reason="a namespace is never deleted implicitly"))
            continue
        result.changes.append(Change("delete", ref, live=current, reason="no longer in the repository"))
    _guard_mass_delete(result, len(previous), options)
    return result


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
    change.replace = True
    change.reason = "; ".join(filter(None, (change.reason, why)))
    return change


def _refuse_foreign_namespace(target: Target, wanted: dict[ObjectRef, Object], live: dict[ObjectRef, Object],
                              inventory: Inventory | None, result: TargetPlan) -> bool:
    """A namespace that is not this environment's is left alone whole: not one object is written into it."""
    ref = ObjectRef("Namespace", "", target.namespace)
    current = live.get(ref)
    why = ownership.foreign_inventory(target, inventory)
    if why is None and current is not None:
        verdict = ownership.judge(target, ref, current, inventory)
        why = verdict.reason if verdict.claim == "conflict" else None
    if why is None:
        return False
    result.foreign_namespace = True
    if current is not None:
        result.changes.append(Change("conflict", ref, desired=wanted.get(ref), live=current, reason=why))
    result.refusals.append(f"namespace {target.namespace} on cluster {target.cluster.name} {why}. Nothing of "
                           f"environment {target.environment.name} is written into it (no binding, quota, policy, "
                           "agent or inventory entry)")
    return True


def plan_removed(inventory: Inventory, cluster: str, live: dict[ObjectRef, Object],
                 options: PlanOptions) -> TargetPlan:
    """The plan of a target whose environment left the repository: orphan (default) or delete, never silently."""
    result = TargetPlan(cluster, inventory.namespace, inventory.environment, protected=inventory.protected,
                        removed=True, on_remove=inventory.on_remove)
    present = [ref for ref in inventory.objects if ref in live and ownership.may_prune(live[ref], inventory)]
    if inventory.protected:
        result.refusals.append(
            f"environment {inventory.environment} is protected and was removed from the repository: nothing is "
            "changed. First commit `protected: false` for it, apply, then remove it")
        result.changes.extend(Change("keep", ref, live=live[ref], reason="protected") for ref in present)
        return result
    action: Action = "delete" if inventory.on_remove == "delete" else "orphan"
    reason = ("environment removed with onRemove: delete" if action == "delete"
              else "environment removed: left in place (onRemove: orphan) and no longer managed")
    for ref in sorted(present, key=_order, reverse=True):
        result.changes.append(Change(action, ref, live=live[ref], reason=reason))
    # No mass-deletion guard here: `onRemove: delete`, stored with the environment before it was removed, is the
    # explicit allowance for deleting all of it (the guard still covers every environment that stays).
    return result


def _guard_mass_delete(result: TargetPlan, managed: int, options: PlanOptions) -> None:
    deletions = len(result.by_action("delete"))
    if not deletions or options.allow_mass_delete or managed == 0:
        return
    share = 100 * deletions / managed
    if share > options.mass_delete_percent:
        result.refusals.append(
            f"would delete {deletions} of {managed} managed objects ({share:.0f}%, over the "
            f"{options.mass_delete_percent}% limit); nothing in this target is deleted. If this is intended, "
            "re-run with --allow-mass-delete")


def _orphan_note(live: Object) -> list[FieldDiff]:
    """An environment that came back takes its objects back: the orphan annotation goes."""
    note = (live.get("metadata", {}).get("annotations") or {}).get(ORPHANED_ANNOTATION)
    return [] if note is None else [FieldDiff(f"metadata.annotations.{ORPHANED_ANNOTATION}", note, _MISSING)]


def _quota_below_usage(target: Target, desired: Object, live: Object) -> list[str]:
    used = live.get("status", {}).get("used", {})
    warnings = []
    for resource, limit in desired.get("spec", {}).get("hard", {}).items():
        if resource in used:
            try:
                below = parse_quantity(limit) < parse_quantity(used[resource])
            except ValueError:
                continue
            if below:
                warnings.append(f"quota {resource} = {limit} is below current usage {used[resource]} in "
                                f"{target.key}: new pods will be refused until usage drops")
    return warnings


def live_index(objects: list[Object]) -> dict[ObjectRef, Object]:
    return {ObjectRef.of(obj): obj for obj in objects}


def environment_of(obj: Object) -> str:
    return str(obj.get("metadata", {}).get("labels", {}).get(ENVIRONMENT_LABEL, ""))
