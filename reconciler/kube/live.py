"""What one cluster holds that the reconciler plans on, read with one LIST per kind (label selector).

Objects of the wanted names that are not labelled as ours can only be found one by one; they are read only where
they can exist (their namespace does), so a cluster the reconciler never wrote costs no GET per new object.

Each listed object keeps, of its ``managedFields``, only the reconciler's own Apply entry (its fields, which
planning reads to find fields applied before and no longer wanted): the other managers' entries were nearly half
of a LIST's bytes, and a hub holds the objects of every cluster at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from reconciler.config.model import FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE
from reconciler.kube import crds as kube_crds
from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.guardrails import read_cluster_roles
from reconciler.plan import inventory as inv
from reconciler.plan import kueue as kueue_plan
from reconciler.plan import kueue_shared, rolecheck
from reconciler.plan.cluster import LiveState
from reconciler.plan.inventory import Inventory, ObjectRef
from reconciler.policy import prerequisites
from reconciler.render.objects import APPLY_ORDER

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
LIST_CONCURRENCY = 4


def read_cluster(client: ClusterClient, desired: Mapping[str, list[Object]], shared_desired: Sequence[Object],
                 platform: str) -> LiveState:
    """Live objects labelled as ours, the inventories, any same-named objects that are not ours, the CRDs agents
    need, the Platform's cluster-scoped Kueue objects and the ClusterRoles the bindings name."""
    configmaps = client.list("ConfigMap", inv.selector(platform), namespace=inv.SYSTEM_NAMESPACE)
    inventories: dict[str, Inventory] = {}
    for configmap in configmaps:
        stored = inv.from_configmap(configmap)
        if stored is not None:
            inventories[stored.namespace] = stored
    live: dict[ObjectRef, Object] = {}
    kinds = kueue_plan.kinds_to_read(APPLY_ORDER, desired, inventories)
    # The kinds are listed side by side: the server answers one page while the client decodes another.
    with ThreadPoolExecutor(max_workers=LIST_CONCURRENCY) as pool:
        for listed in pool.map(lambda kind: client.list(kind, MANAGED_SELECTOR), kinds):
            for obj in listed:
                live[ObjectRef.of(obj)] = slim(obj)
    missing = [ref for objects in desired.values() for ref in map(ObjectRef.of, objects) if ref not in live]
    namespaces = {ns["metadata"]["name"] for ns in client.list("Namespace", metadata_only=True)} if missing else set()
    live.update(_unlabelled(client, missing, namespaces))
    system = inv.SYSTEM_NAMESPACE in namespaces if missing else bool(inventories)
    has_agent = any(o["kind"] == "Deployment" for objects in desired.values() for o in objects)
    crds = kube_crds.present(client, prerequisites.CRDS) if has_agent else {}
    stored_shared = kueue_shared.stored_inventory(configmaps, platform)
    shared = _shared(client, shared_desired, stored_shared)
    roles = read_cluster_roles(client, rolecheck.names(desired))
    return LiveState(live, inventories, system, crds, stored_shared, shared, roles)


def slim(obj: Object) -> Object:
    """``obj`` itself, its managedFields cut to the reconciler's own Apply entry (manager, operation, fields)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("managedFields"), list):
        return obj
    ours = [{"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": entry.get("fieldsV1", {})}
            for entry in metadata["managedFields"] if isinstance(entry, dict)
            and entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply"]
    if ours:
        metadata["managedFields"] = ours
    else:
        del metadata["managedFields"]
    return obj


def _unlabelled(client: ClusterClient, missing: list[ObjectRef], namespaces: set[str]) -> dict[ObjectRef, Object]:
    found: dict[ObjectRef, Object] = {}
    for ref in missing:
        # An object of the same name can only exist if its namespace does: no request for new namespaces.
        exists = ref.name in namespaces if ref.kind == "Namespace" else ref.namespace in namespaces
        if exists and (obj := client.get(ref.kind, ref.namespace or None, ref.name)) is not None:
            obj.setdefault("kind", ref.kind)
            found[ref] = obj
    return found


def _shared(client: ClusterClient, desired: Sequence[Object], stored: Object | None) -> dict[ObjectRef, Object]:
    """The Platform's flavors and priority classes; a cluster whose Platform wants none and owns none is never
    asked for Kueue's kinds, so a cluster without Kueue's CRDs is read as before."""
    if not desired and not kueue_shared.owned_refs(stored):
        return {}
    live: dict[ObjectRef, Object] = {}
    for kind in kueue_shared.SHARED_KINDS:
        for obj in client.list(kind, MANAGED_SELECTOR):
            obj.setdefault("kind", kind)
            live[ObjectRef.of(obj)] = obj
    for obj in desired:  # a same-named object of nobody carries no label: only a GET finds it
        ref = ObjectRef.of(obj)
        if ref not in live and (found := client.get(ref.kind, None, ref.name)) is not None:
            found.setdefault("kind", ref.kind)
            live[ref] = found
    return live
