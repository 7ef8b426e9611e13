"""What one converge of a cluster's worker tells besides /status: a log line for the outcome and Kubernetes Events
for what changed or went wrong (:mod:`reconciler.controller.events` decides which)."""

from __future__ import annotations

import logging

from reconciler.controller import events
from reconciler.controller.status_model import SyncOutcome
from reconciler.converge.engine import ClusterResult
from reconciler.kube import events as kube_events
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError

log = logging.getLogger("reconciler.controller")


def log_failed(cluster: str, revision: str, result: ClusterResult, failures: int, retry_in: float) -> None:
    log.warning("converge failed; retrying this cluster alone", extra={
        "cluster": cluster, "revision": revision, "errors": result.errors, "failures": failures,
        "retryInSeconds": round(retry_in, 1)})


def log_settled(cluster: str, result: ClusterResult, outcome: SyncOutcome) -> None:
    log.log(logging.INFO if outcome.state == "converged" else logging.WARNING,
            "drift undone" if outcome.drift else outcome.state, extra={
                "cluster": cluster, "revision": outcome.revision, "applied": outcome.applied,
                "pruned": outcome.pruned, "orphaned": outcome.orphaned, "writes": outcome.writes,
                "seconds": round(outcome.duration, 2),
                "refusals": [r for t in result.targets for r in t.refusals] or None})


def record_events(client: ClusterClient, result: ClusterResult, revision: str, drift: bool, instance: str) -> None:
    """Best effort: an Event tells, it guards nothing, so one that cannot be recorded is only logged."""
    for notice in events.notices(result, revision, drift):
        try:
            kube_events.record(client, notice.namespace, notice.reason, notice.message, warning=notice.warning,
                               instance=instance)
        except KubeError as error:
            log.debug("event not recorded", extra={"cluster": client.name, "error": str(error)})
