"""Deleting what a target no longer wants, and removing environments that left the repository.

Only what the plan marks ``delete`` or ``orphan`` is touched (the plan already checked ownership). What cannot be
deleted now stays in the inventory, so the next run retries it; Kueue's queues are drained before they go.
"""

from __future__ import annotations

from reconciler.config.model import ORPHANED_ANNOTATION
from reconciler.converge.results import failure
from reconciler.converge.writer import Writer
from reconciler.kube import kueue as kube_kueue
from reconciler.kube.errors import KubeError
from reconciler.plan import inventory as inv
from reconciler.plan import kueue as kueue_plan
from reconciler.plan.changes import Change, TargetPlan
from reconciler.plan.inventory import ObjectRef


def delete_stale(writer: Writer, target: TargetPlan) -> set[ObjectRef]:
    """Delete the target's objects the repository no longer wants; the survivors, kept in its inventory."""
    survivors: set[ObjectRef] = set()
    drained = drain_queues(writer, target)
    for change in target.by_action("delete"):
        try:
            if not _delete(writer, target, change, drained):
                survivors.add(change.ref)
                continue
            writer.progress(f"{writer.result.cluster}: deleted {change.ref}")
        except KubeError as error:
            survivors.add(change.ref)  # stays in the inventory, so the next run retries it
            writer.failed(target, change, error)
    return survivors


def drain_queues(writer: Writer, target: TargetPlan) -> bool:
    """Drain the ClusterQueues this target deletes, before anything of Kueue is deleted (its LocalQueues
    included, so admitted workloads are evicted through their own queue). False while one still drains."""
    queues = [c.ref for c in target.by_action("delete") if c.ref.kind == "ClusterQueue"]
    if writer.dry_run or not queues:
        return True
    seconds = writer.options.drain_seconds
    for ref in queues:
        drained = kube_kueue.drain(writer.client, ref.name, seconds)
        if not drained.drained:
            writer.note(failure("drain", (
                f"cluster {writer.result.cluster}: ClusterQueue {ref.name} is draining (stopPolicy HoldAndDrain): "
                f"{drained.admitted} workload(s) still admitted after {seconds:.0f}s; its queues stay in the "
                "inventory and the next run deletes them once drained"), ref, target.namespace))
            return False
    return True


def _delete(writer: Writer, target: TargetPlan, change: Change, queues_drained: bool) -> bool:
    """Delete one object; False when it is kept for the next run (Kueue's queues while still draining)."""
    ref = change.ref
    if ref.kind in kueue_plan.QUEUE_KINDS and not queues_drained:
        return False
    writer.client.delete(ref.kind, ref.namespace or None, ref.name, dry_run=writer.dry_run)
    writer.done(target, change)
    return True


def remove_target(writer: Writer, target: TargetPlan) -> None:
    """An environment removed from the repository: its objects deleted or orphaned, as its inventory says."""
    if target.refusals:
        return
    survivors: set[ObjectRef] = set()
    drained = drain_queues(writer, target)
    for change in target.changes:
        try:
            if change.action == "delete" and not _delete(writer, target, change, drained):
                survivors.add(change.ref)
            elif change.action == "orphan" and not writer.dry_run:
                _orphan(writer, target, change)
        except KubeError as error:
            survivors.add(change.ref)
            writer.failed(target, change, error)
    if writer.dry_run:
        return
    if survivors:
        writer.record(target, survivors)
    else:
        writer.client.delete("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name(target.namespace))
    writer.progress(f"{writer.result.cluster}: environment {target.environment} removed from {target.key}")


def _orphan(writer: Writer, target: TargetPlan, change: Change) -> None:
    note = f"{writer.now()} environment {target.environment} removed from the repository"
    writer.client.merge_patch(change.ref.kind, change.ref.namespace or None, change.ref.name,
                              {"metadata": {"annotations": {ORPHANED_ANNOTATION: note}}})
    writer.done(target, change)
