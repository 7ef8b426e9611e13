"""Write core/v1 Events, so `kubectl get events -n <namespace>` shows what the reconciler changed there and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from reconciler.kube.client import ClusterClient
from reconciler.kube.resources import EVENT

COMPONENT = "reconciler"
MAX_MESSAGE = 1024  # the API server refuses longer event messages


def record(client: ClusterClient, namespace: str, reason: str, message: str, *, warning: bool = False,
           instance: str = "") -> None:
    """Create an Event in ``namespace`` about it."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE - 3] + "..."
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{namespace}.{uuid.uuid4().hex[:16]}", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": COMPONENT}},
        # The API server wants the subject in the event's namespace; naming the Namespace there keeps the event
        # next to the objects it is about (`kubectl get events -n NAMESPACE`).
        "involvedObject": {"apiVersion": "v1", "kind": "Namespace", "name": namespace, "namespace": namespace},
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance[:128],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "eventTime": None,
        "count": 1,
    }
    client.request("POST", EVENT.collection_path(namespace), f"create Event {reason} in {namespace}",
                   body=event)
