"""The coordination.k8s.io/v1 Lease that leader election holds: read, create, update, and the namespace it lives in.

Every request goes through :meth:`ClusterClient.request` with ``fenced=False``: a Lease write is how a replica
earns the right to write, so the write guard (which asks whether the Lease is held) must not stand in its way.
Each request carries the caller's ``timeout``, so one attempt never outlives the renew deadline.
"""

from __future__ import annotations

from reconciler.kube.client import ClusterClient, Object
from reconciler.kube.resources import LEASE, RESOURCES

FIELD_MANAGER = "reconciler-leader"


def describe(client: ClusterClient, namespace: str, name: str) -> str:
    return f"Lease {namespace}/{name} on cluster {client.name}"


def _collection(namespace: str) -> str:
    return LEASE.collection_path(namespace)


def read(client: ClusterClient, namespace: str, name: str, *, timeout: float) -> Object:
    """The Lease; raises :class:`~reconciler.kube.errors.NotFound` when there is none (or no namespace)."""
    return client.request("GET", f"{_collection(namespace)}/{name}", f"get {describe(client, namespace, name)}",
                          timeout=timeout)


def create(client: ClusterClient, namespace: str, name: str, spec: Object, *, timeout: float) -> None:
    """A new Lease; raises :class:`~reconciler.kube.errors.Conflict` when another replica created it first, and
    :class:`~reconciler.kube.errors.NotFound` when its namespace does not exist."""
    lease: Object = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name, "namespace": namespace}, "spec": spec}
    client.request("POST", _collection(namespace), f"create {describe(client, namespace, name)}", body=lease,
                   timeout=timeout, fenced=False)


def update(client: ClusterClient, lease: Object, verb: str, *, timeout: float) -> None:
    """Write ``lease`` back as read and changed: it carries its resourceVersion, so of two replicas racing one gets
    a :class:`~reconciler.kube.errors.Conflict`. ``verb`` says why, in errors (update, release)."""
    namespace, name = lease["metadata"]["namespace"], lease["metadata"]["name"]
    client.request("PUT", f"{_collection(namespace)}/{name}", f"{verb} {describe(client, namespace, name)}",
                   body=lease, timeout=timeout, fenced=False)


def ensure_namespace(client: ClusterClient, namespace: str, *, timeout: float) -> None:
    """The Leases' namespace, created (server-side apply) when the first replica starts on a new cluster."""
    body: Object = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    client.request("PATCH", RESOURCES["Namespace"].object_path(None, namespace), f"create namespace {namespace}",
                   query={"fieldManager": FIELD_MANAGER, "force": "true"}, body=body,
                   content_type="application/apply-patch+yaml", timeout=timeout, fenced=False)
