"""Kubernetes Events about revisions: `kubectl get events -n reconciler-system` tells an operator that the branch's
head was refused (invalid) or held (unsigned, or by a blocking risk finding), and which revision stays applied; a
risk hold is also told in the namespaces of the environments it is about."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

from reconciler.config.model import Cluster, ClusterConnection, Landscape
from reconciler.errors import Location, ReconcilerError
from reconciler.kube import events as kube_events
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError

log = logging.getLogger("reconciler.controller")
MAX_ERRORS = 5  # the rest is on /status and in the log; an Event's message is short
INVALID_REASON = "InvalidRevision"
HELD_REASON = "RevisionHeld"


def invalid_message(commit: str, applied: str | None, errors: list[str]) -> str:
    kept = f"revision {applied[:12]} stays applied" if applied else "no revision was applied yet"
    shown = "; ".join(errors[:MAX_ERRORS]) + (f"; and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS
                                              else "")
    return (f"revision {commit[:12]} is invalid, nothing from it is applied and {kept}. Fix the repository and "
            f"push again: {shown}")


def held_message(commit: str, applied: str | None, why: str) -> str:
    kept = f"revision {applied[:12]} stays applied" if applied else "no revision was applied yet"
    return f"revision {commit[:12]} is held, nothing from it is applied and {kept}: {why}"


def warn(client: ClusterClient, namespaces: Iterable[str], reason: str, message: str, instance: str) -> None:
    """A Warning Event in each of ``namespaces`` on ``client``'s cluster. Best effort: an Event tells, it guards
    nothing, so a failure is logged and the rest of that cluster's Events are not tried."""
    for namespace in namespaces:
        try:
            kube_events.record(client, namespace, reason, message, warning=True, instance=instance)
        except KubeError as error:
            log.warning("cannot record the revision's Event", extra={
                "cluster": client.name, "namespace": namespace, "reason": reason, "error": str(error)})
            return


def home_cluster(landscape: Landscape | None, confined_to: str | None) -> Cluster:
    """The cluster the controller itself runs on, for what belongs to no target (an invalid revision's Event):
    its own cluster when in-cluster, else the one it is confined to (--cluster), else the first of the repository."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return Cluster("in-cluster", ClusterConnection(in_cluster=True), {}, Location("in-cluster", 0))
    if landscape is None or not landscape.clusters:
        raise ReconcilerError("no valid revision yet names the clusters")
    name = confined_to if confined_to in landscape.clusters else sorted(landscape.clusters)[0]
    return landscape.clusters[name]
