"""The Platform's cluster-scoped Kueue objects on one cluster: dry-run and write what the plan says (see
``reconciler.plan.kueue_shared``). The inventory is written before the first creation, so an object the
reconciler creates is never left unowned by a failed run."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.converge import preflight
from reconciler.kube import kueue as kube_kueue
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import KubeError
from reconciler.plan import kueue_shared
from reconciler.plan.changes import Change
from reconciler.plan.inventory import ObjectRef


def dry_run(client: ClusterClient, changes: Sequence[Change], platform: str) -> list[preflight.DryRunFailure]:
    """The API server's view of each create and update, before any write of the revision."""
    failures = []
    for change in changes:
        if change.action in ("create", "update") and change.desired is not None:
            try:
                client.apply(change.desired, dry_run=True)
            except KubeError as error:
                failures.append(preflight.DryRunFailure(client.name, f"Platform {platform}", change.ref, error))
    return failures


def execute(client: ClusterClient, changes: Sequence[Change], stored: Object | None, platform: str,
            dry_run: bool) -> list[ObjectRef]:
    """Record what is about to be created in the inventory, then create and update; the objects written."""
    writes = [c for c in changes if c.action in ("create", "update") and c.desired is not None]
    if dry_run:
        return [c.ref for c in writes]
    owned = kueue_shared.owned_refs(stored)
    recorded = kueue_shared.next_inventory(owned, changes)
    if recorded != owned:
        client.apply(kueue_shared.to_configmap(platform, recorded))
    kube_kueue.apply_shared(client, [c.desired for c in writes if c.desired is not None])
    return [c.ref for c in writes]


def prune(client: ClusterClient, changes: Sequence[Change], stored: Object | None, platform: str,
          dry_run: bool) -> list[ObjectRef]:
    """Delete the Platform's objects it no longer wants, after its ClusterQueues stopped naming them; what
    could not be deleted stays in the inventory for the next run."""
    deletes = [c.ref for c in changes if c.action == "delete"]
    if dry_run or not deletes:
        return deletes
    owned = kueue_shared.next_inventory(kueue_shared.owned_refs(stored), changes)
    gone = []
    for ref in deletes:
        client.delete(ref.kind, None, ref.name)
        gone.append(ref)
    client.apply(kueue_shared.to_configmap(platform, owned - set(gone)))
    return gone
