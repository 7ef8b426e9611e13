"""`reconciler status`: the landscape in the terminal, from a running controller's /status or, without one, from
what the clusters record (the inventories the reconciler keeps, ResourceQuota status and agent Deployments).

Both sources give the /status shape, so one renderer (reconciler.status_text) prints them alike.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from reconciler import inventory, quota
from reconciler.agent_health import rollout_state
from reconciler.config.model import ENVIRONMENT_LABEL, Cluster, ClusterConnection
from reconciler.errors import Location, ReconcilerError
from reconciler.kube import landscape
from reconciler.kube.connect import connect
from reconciler.kube.errors import KubeError

Snapshot = dict[str, Any]
TIMEOUT_SECONDS = 10


def from_url(url: str) -> Snapshot:
    """GET URL/status of a running controller (URL may end in /status already)."""
    address = url.rstrip("/")
    address = address if address.endswith("/status") else address + "/status"
    try:
        with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as response:
            document: Snapshot = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ReconcilerError(f"{address} answered {exc.code} {exc.reason}: is --url the controller's "
                              "address (its --listen, e.g. http://reconciler.reconciler-system:8080)?") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReconcilerError(f"cannot reach the controller at {address}: {reason}. Check --url, or read the "
                              "clusters directly with --kubeconfig") from exc
    except ValueError as exc:
        raise ReconcilerError(f"{address} did not answer with the controller's JSON status: {exc}") from exc
    if not isinstance(document, dict) or "clusters" not in document:
        raise ReconcilerError(f"{address} is not a reconciler's /status (no \"clusters\" in it)")
    return document


def from_clusters(kubeconfig: Path | None, only: list[str] | None = None, platform: str | None = None) -> Snapshot:
    """Read every context of the kubeconfig (or only those named) as one cluster."""
    names = only or landscape.contexts(kubeconfig)
    clusters = {name: _cluster(name, kubeconfig, platform) for name in sorted(names)}
    return {"state": "read from the clusters", "source": {"repository": f"kubeconfig {kubeconfig or '(default)'}",
                                                          "branch": "", "head": None},
            "revision": None, "lastBadRevision": None, "leader": {"isLeader": True}, "clusters": clusters}


def _cluster(name: str, kubeconfig: Path | None, platform: str | None) -> dict[str, Any]:
    cluster = Cluster(name, ClusterConnection(context=name), {}, Location("--kubeconfig", 0))
    try:
        client = connect(cluster, kubeconfig)
        try:
            record = landscape.read(client, platform)
        finally:
            client.close()
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
