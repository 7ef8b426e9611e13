"""The Platform's cluster-scoped Kueue objects on one cluster: read, plan, dry-run and write (see kueue_shared).

Clusters whose Platform wants no such object and whose inventory owns none are never asked for Kueue's kinds,
so a cluster without Kueue's CRDs converges as before.
"""

from __future__ import annotations

from reconciler import kueue_shared, preflight
from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, Landscape
from reconciler.inventory import ObjectRef
from reconciler.kube import kueue as kube_kueue
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.errors import KubeError
from reconciler.plan import Change, TargetPlan
from reconciler.render import kueue as render_kueue

SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"


def plan(client: ClusterClient, landscape: Landscape, stored: Object | None) -> list[Change]:
    """Changes to the Platform's flavors and priority classes; ``stored`` is its cluster inventory ConfigMap."""
    desired = render_kueue.render_cluster(landscape, client.name)
    owned = kueue_shared.owned_refs(stored)
    if not desired and not owned:
        return []
    live: dict[ObjectRef, Object] = {}
    for kind in kueue_shared.SHARED_KINDS:
        for obj in client.list(kind, SELECTOR):
            obj.setdefault("kind", kind)
            live[ObjectRef.of(obj)] = obj
    for obj in desired:  # a same-named object of nobody carries no label: only a GET finds it
        ref = ObjectRef.of(obj)
        if ref not in live and (found := client.get(ref.kind, None, ref.name)) is not None:
            found.setdefault("kind", ref.kind)
            live[ref] = found
    return kueue_shared.plan_shared(landscape.platform.name, desired, live, owned)


def refuse_queues(targets: list[TargetPlan], shared: list[Change]) -> None:
    """A ClusterQueue would admit onto a flavor that is not the Platform's (its node labels are someone else's
    to change): the targets that write Kueue's queues are refused until the conflict is resolved."""
    conflicts = [str(c.ref) for c in shared if c.action == "conflict"]
    if not conflicts:
        return
    for target in targets:
        if any(c.ref.kind in ("ClusterQueue", "LocalQueue") and c.desired is not None for c in target.changes):
            target.refusals.append(
                f"{target.key}: its Kueue queues would use {', '.join(conflicts)}, which this Platform does not "
                "own (see the conflict above); nothing is written to this target until that object is renamed, "
                "removed or relabelled")


def dry_run(client: ClusterClient, changes: list[Change], platform: str) -> list[preflight.DryRunFailure]:
    """The API server's view of each create and update, before any write of the revision."""
    failures = []
    for change in changes:
        if change.action in ("create", "update") and change.desired is not None:
            try:
                client.apply(change.desired, dry_run=True)
            except KubeError as error:
                failures.append(preflight.DryRunFailure(client.name, f"Platform {platform}", change.ref, error))
    return failures


def execute(client: ClusterClient, changes: list[Change], stored: Object | None, platform: str,
            dry_run: bool) -> list[str]:
    """Record what is about to be created in the inventory, then create and update; the objects, as kind/name."""
    owned = kueue_shared.owned_refs(stored)
    writes = [c for c in changes if c.action in ("create", "update") and c.desired is not None]
    if dry_run:
        return [str(c.ref) for c in writes]
    recorded = kueue_shared.next_inventory(owned, changes)
    if recorded != owned:
        client.apply(kueue_shared.to_configmap(platform, recorded))
    applied = kube_kueue.apply_shared(client, [c.desired for c in writes if c.desired is not None])
    return applied


def prune(client: ClusterClient, changes: list[Change], stored: Object | None, platform: str,
          dry_run: bool) -> list[str]:
    """Delete the Platform's objects it no longer wants, after its ClusterQueues stopped naming them; what
    could not be deleted stays in the inventory for the next run."""
    deletes = [c.ref for c in changes if c.action == "delete"]
    if dry_run or not deletes:
        return [str(ref) for ref in deletes]
    owned = kueue_shared.next_inventory(kueue_shared.owned_refs(stored), changes)
    gone = []
    for ref in deletes:
        client.delete(ref.kind, None, ref.name)
        gone.append(ref)
    client.apply(kueue_shared.to_configmap(platform, owned - set(gone)))
    return [str(ref) for ref in gone]


def stored_inventory(configmaps: list[Object], platform: str) -> Object | None:
    name = kueue_shared.configmap_name(platform)
    found = [c for c in configmaps if c.get("metadata", {}).get("name") == name]
    return found[0] if found else None

