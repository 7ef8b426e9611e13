"""Kubernetes Events about revisions, in the controller's own namespace: `kubectl get events -n reconciler-system`
tells an operator that the branch's head was refused (invalid) or held (unsigned, or by a blocking risk finding),
and which revision stays applied."""

from __future__ import annotations

import logging
from pathlib import Path

from reconciler.config.model import Cluster
from reconciler.errors import ReconcilerError
from reconciler.kube import events as kube_events
from reconciler.kube.connect import connect
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


def invalid(home: Cluster, kubeconfig: Path | None, namespace: str, instance: str, commit: str,
            applied: str | None, errors: list[str]) -> None:
    """Record that ``commit`` was refused, as a Warning Event in ``namespace`` on the cluster ``home``."""
    record(home, kubeconfig, namespace, instance, INVALID_REASON, invalid_message(commit, applied, errors))


def record(home: Cluster, kubeconfig: Path | None, namespace: str, instance: str, reason: str, message: str) -> None:
    """A Warning Event in ``namespace`` on the cluster ``home``; a failure is logged, never raised."""
    try:
        client = connect(home, kubeconfig)
    except ReconcilerError as error:
        log.warning("cannot record the revision's Event", extra={"cluster": home.name, "reason": reason,
                                                                 "error": str(error)})
        return
    try:
        kube_events.record(client, namespace, reason, message, warning=True, instance=instance)
    except KubeError as error:
        log.warning("cannot record the revision's Event", extra={"cluster": home.name, "reason": reason,
                                                                 "error": str(error)})
    finally:
        client.close()
