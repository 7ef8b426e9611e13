"""Converging one target as its plan says: record intent in the inventory, apply in dependency order, prune.

The plan is executed as it is; nothing here decides what to change. A write that fails after the dry run passed
(a race) stops the target: its inventory keeps exactly what exists, and nothing of it is pruned in this run.
"""

from __future__ import annotations

from reconciler.config.model import ORPHANED_ANNOTATION
from reconciler.converge import prune
from reconciler.converge.writer import Writer
from reconciler.kube.errors import KubeError
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import Inventory, ObjectRef


def converge_target(writer: Writer, target: TargetPlan, previous: Inventory | None) -> None:
    if target.refusals:
        return
    wanted = {c.ref for c in target.changes if c.desired is not None and c.action != "conflict"}
    owned = set(previous.objects) if previous else set()
    if wanted - owned:
        # Record intent first: a crash after a create still leaves the new object in the inventory.
        previous = writer.record(target, owned | wanted)
    done = _write(writer, target, owned)
    if done is None:
        return
    survivors = prune.delete_stale(writer, target)
    final = wanted | survivors | {c.ref for c in target.by_action("keep")}
    # Rewritten only when what it says changes: a one-object change writes only that object.
    described = (previous.protected, previous.on_remove, previous.environment) if previous else None
    if previous is None or set(previous.objects) != final or described != (
            target.protected, target.on_remove, target.environment) or _new_applier(
            writer, previous, target, done, survivors):
        writer.record(target, final)


def _write(writer: Writer, target: TargetPlan, owned: set[ObjectRef]) -> set[ObjectRef] | None:
    """Create and update in the plan's (dependency) order; None when a write failed and the target stopped."""
    done: set[ObjectRef] = set()
    for change in target.changes:
        if change.action not in ("create", "update") or change.desired is None:
            continue
        if not writer.dry_run:  # a dry run was checked whole by the preflight
            try:
                if change.replace:  # a field that cannot change (the agent's selector): delete, create
                    writer.client.delete(change.ref.kind, change.ref.namespace or None, change.ref.name)
                writer.client.apply(change.desired)
                _drop_orphan_note(writer, change)
            except KubeError as error:
                _stopped(writer, target, owned | done, change, error)
                return None
        done.add(change.ref)
        writer.done(target, change)
        writer.progress(f"{writer.result.cluster}: {change.action}d {change.ref}")
    return done


def _new_applier(writer: Writer, previous: Inventory, target: TargetPlan, done: set[ObjectRef],
                 survivors: set[ObjectRef]) -> bool:
    """A run that wrote something records who wrote it and at which revision; a no-op run writes nothing."""
    changed = bool(done) or any(c.ref not in survivors for c in target.by_action("delete"))
    options = writer.options
    return changed and (previous.applied_by, previous.revision) != (options.applied_by, options.revision)


def _stopped(writer: Writer, target: TargetPlan, applied: set[ObjectRef], failed: Change, error: KubeError) -> None:
    """A write failed after the dry run passed: the inventory keeps exactly what exists now, and the error says
    what was and was not applied."""
    writer.record(target, applied)
    wanted = [c.ref for c in target.changes if c.action in ("create", "update") and c.desired is not None]
    left = [str(ref) for ref in wanted if ref not in applied or ref == failed.ref]
    writer.failed(target, failed, error, f"{error}; converge of {target.key} stopped at {failed.ref}: not applied: "
                                         f"{', '.join(left)}; nothing was pruned. The next run retries")


def _drop_orphan_note(writer: Writer, change: Change) -> None:
    # The annotation was set by a merge patch, not by our apply, so the apply cannot remove it.
    annotations = (change.live or {}).get("metadata", {}).get("annotations") or {}
    if ORPHANED_ANNOTATION in annotations:
        writer.client.merge_patch(change.ref.kind, change.ref.namespace or None, change.ref.name,
                                  {"metadata": {"annotations": {ORPHANED_ANNOTATION: None}}})
