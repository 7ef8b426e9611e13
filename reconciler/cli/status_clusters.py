"""``reconciler status --kubeconfig``: the landscape read from what each cluster records (the inventories the
reconciler keeps, ResourceQuota status and agent Deployments), in the /status shape a controller serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.config.model import ENVIRONMENT_LABEL, Cluster, ClusterConnection
from reconciler.converge.agent_health import rollout_state
from reconciler.errors import Location, ReconcilerError
from reconciler.kube import landscape
from reconciler.kube.connect import Clients, ConnectOptions, connect_landscape
from reconciler.kube.errors import KubeError
from reconciler.plan import inventory, quota

Snapshot = dict[str, Any]


def from_clusters(kubeconfig: Path | None, only: list[str] | None = None, platform: str | None = None) -> Snapshot:
    """Read every context of the kubeconfig (or only those named) as one cluster."""
    names = sorted(only or landscape.contexts(kubeconfig))
    # Each context is a cluster of its own; two contexts of one API server are simply read twice.
    wanted = {name: Cluster(name, ClusterConnection(context=name), {}, Location("--kubeconfig", 0)) for name in names}
    with connect_landscape(wanted, ConnectOptions(kubeconfig), names, verify=False) as reached:
        clusters = {name: _cluster(reached, name, platform) for name in names}
    return {"state": "read from the clusters", "source": {"repository": f"kubeconfig {kubeconfig or '(default)'}",
                                                          "branch": "", "head": None},
            "revision": None, "lastBadRevision": None, "leader": {"isLeader": True}, "clusters": clusters}


def _cluster(reached: Clients, name: str, platform: str | None) -> dict[str, Any]:
    try:
        if name in reached.unusable:
            raise reached.unusable[name]
        record = landscape.read(reached.clients[name], platform)
    except (KubeError, ReconcilerError) as error:
        return {"state": "failed", "revision": None, "lastError": str(error), "targets": {}}
    targets = _targets(record)
    revisions = {t["revision"] for t in targets.values()}
    return {"state": "applied" if targets else "empty", "revision": revisions.pop() if len(revisions) == 1 else None,
            "lastError": None, "targets": targets}


def _targets(record: landscape.ClusterRecord) -> dict[str, dict[str, Any]]:
    usage = quota.by_namespace(record.quotas)
    agents = {a["metadata"]["namespace"]: a for a in record.agents}
    targets: dict[str, dict[str, Any]] = {}
    for configmap in record.inventories:
        stored = inventory.from_configmap(configmap)
        if stored is None:
            continue
        agent = agents.get(stored.namespace)
        targets[stored.namespace] = {
            "environment": stored.environment or configmap["metadata"].get("labels", {}).get(ENVIRONMENT_LABEL),
            "state": "applied", "revision": stored.revision, "lastSyncTime": stored.applied_at, "lastError": None,
            "quota": usage.get(stored.namespace, {}), "agent": _agent(agent),
            "objects": [str(ref) for ref in stored.objects], "changes": []}
    return targets


def _agent(deployment: dict[str, Any] | None) -> dict[str, Any] | None:
    if deployment is None:
        return None
    state, detail = rollout_state(deployment)
    return {"state": state, "ready": deployment.get("status", {}).get("readyReplicas", 0),
            "wanted": deployment.get("spec", {}).get("replicas", 1), "detail": detail}
