"""Fencing: a deposed leader's writes never reach etcd (wherever the API server can tell the replicas apart).

Two layers, because neither alone is enough:

- In the process, every write first asks a guard whether this replica may still write, on the one path all writes
  take (:meth:`ClusterClient.request`), and once more after the request is serialised, just before it is handed to
  the connection. A replica that lost its lease, or was paused past its renew deadline, refuses its next write
  instead of noticing after it. A refused write raises :class:`Fenced`, which is not a
  :class:`~reconciler.kube.errors.KubeError`: the converge's per-object error handling does not swallow it, and the
  whole queued converge stops.
- On the server, the ValidatingAdmissionPolicy ``reconciler-fence`` (deploy/admission-fence.yaml) admits a write
  sent with a replica's Pod-bound token only while the cluster's Lease names that Pod as holder. A thread frozen
  between the last check and the socket (SIGSTOP, a paused VM) can send a request when it resumes; the API server
  denies it, because by then the Lease names another replica. The guard cannot close that window; the server does.

A new leader writes only once the API server agrees that it holds the Lease (:func:`server_sees_holder`): the
policy reads the Lease through an informer, so for a moment after a takeover it may still see the old holder.
A cluster reached with a token both replicas share (a hub's kubeconfig Secret) cannot tell them apart: there the
guard alone fences (docs/operations.md, fencing).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.kube.errors import Forbidden, KubeError
from reconciler.kube.resources import RESOURCES

if TYPE_CHECKING:
    from reconciler.kube.client import ClusterClient

WriteGuard = Callable[[str], None]  # called with the write's subject; raises Fenced to refuse it
POLICY = "ValidatingAdmissionPolicy 'reconciler-fence'"
PROBE = "fence-probe"  # never persisted: only dry-run applied, to ask the API server whom the Lease names


class Fenced(Exception):
    """A write was refused before it was sent: this replica may not write (lease lost or expiring, stopping)."""

    def __init__(self, cluster: str, subject: str, reason: str) -> None:
        self.cluster = cluster
        self.subject = subject
        self.reason = reason
        super().__init__(f"cluster {cluster}: {subject}: not sent, {reason}")


def replica_identity() -> str:
    """``<pod name>_<random>``: the Pod name is what the API server sees in the replica's token, so the fence
    policy can tell whose write it is; the random part tells apart two processes of one Pod (a restart)."""
    pod = os.environ.get("POD_NAME") or socket.gethostname()
    return f"{pod}_{uuid.uuid4().hex[:8]}"


def server_sees_holder(client: ClusterClient, namespace: str, patience: float, timeout: float) -> bool:
    """True once the API server admits a dry-run write of this replica, i.e. its fence policy (if installed) sees
    the Lease naming this replica; False if it still denies it after ``patience`` seconds, or does not answer one
    probe within ``timeout``."""
    probe = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": PROBE, "namespace": namespace}}
    deadline = time.monotonic() + patience
    while True:
        try:
            client.request("PATCH", RESOURCES["ConfigMap"].object_path(namespace, PROBE),
                           f"dry-run apply ConfigMap {namespace}/{PROBE}", body=probe, fenced=False,
                           query={"fieldManager": "reconciler-leader", "force": "true", "dryRun": "All"},
                           content_type="application/apply-patch+yaml", timeout=timeout)
            return True
        except Forbidden as error:
            if POLICY not in error.message or time.monotonic() >= deadline:
                return POLICY not in error.message  # denied for another reason: not the fence's to decide
        except KubeError:
            return False  # not answered: ask again at the next renewal rather than write unconfirmed
        time.sleep(0.05)
