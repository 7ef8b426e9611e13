"""One cluster, one name: two Cluster documents may not reach the same API server.

Otherwise one environment could take over another's namespace through a second name for the same cluster (the
"one environment per cluster and namespace" check compares names), and the two would undo each other for ever.
Two proofs: the server URLs, compared after normalisation, and, once connected, the UID of the ``kube-system``
namespace, which every cluster has and no other cluster shares (it also catches ``localhost`` against
``127.0.0.1``, a proxy or a second DNS name, which URLs cannot tell apart soundly).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from reconciler.config.model import Cluster
from reconciler.errors import ReconcilerError
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError

DEFAULT_PORTS = {"https": 443, "http": 80}
IDENTITY_NAMESPACE = "kube-system"


class AliasedClusters(ReconcilerError):
    """Two Cluster documents reach one API server; nothing is written to either until one is removed."""


def normalise_server(url: str) -> str:
    """``HTTPS://API.Example.com:443/`` and ``https://api.example.com`` are one server."""
    parts = urlsplit(url.strip() if "://" in url else f"https://{url.strip()}")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        address = ipaddress.ip_address(host)
        # An IPv4-mapped IPv6 address (::ffff:127.0.0.1) reaches the IPv4 server itself.
        address = getattr(address, "ipv4_mapped", None) or address
        host = f"[{address.compressed}]" if address.version == 6 else address.compressed
    except ValueError:
        pass
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def kube_system_uid(client: ClusterClient) -> str | None:
    """The cluster's identity, with one GET; None when it cannot be read (the cluster then fails on its own)."""
    try:
        namespace = client.get("Namespace", None, IDENTITY_NAMESPACE)
    except KubeError:
        return None
    uid = (namespace or {}).get("metadata", {}).get("uid")
    return str(uid) if uid else None


def _pairs(values: Mapping[str, str], only: str | None) -> list[tuple[str, str, str]]:
    """Pairs of names sharing a value, each once, in name order (those with ``only`` when it is set)."""
    first: dict[str, str] = {}
    pairs = []
    for name in sorted(values):
        value = values[name]
        if value in first and only in (None, name, first[value]):
            pairs.append((first[value], name, value))
        first.setdefault(value, name)
    return pairs


def _message(clusters: Mapping[str, Cluster], one: str, other: str, shared: str) -> str:
    return (f"Cluster {one!r} ({clusters[one].location}) and Cluster {other!r} ({clusters[other].location}) reach the "
            f"same API server ({shared}): one cluster may have one name only, or two environments could claim one "
            f"namespace through the two names. Remove one of the Cluster documents and point its targets at the "
            "other; nothing is written to either until then")


def same_servers(clusters: Mapping[str, Cluster], servers: Mapping[str, str], only: str | None = None) -> list[str]:
    normalised = {name: normalise_server(url) for name, url in servers.items()}
    return [_message(clusters, one, other, f"server {server}") for one, other, server in _pairs(normalised, only)]


def same_uids(clusters: Mapping[str, Cluster], uids: Mapping[str, str], only: str | None = None) -> list[str]:
    return [_message(clusters, one, other, f"namespace {IDENTITY_NAMESPACE} has uid {uid} on both")
            for one, other, uid in _pairs(uids, only)]


def verify_distinct(clusters: Mapping[str, Cluster], clients: Mapping[str, ClusterClient],
                    servers: Mapping[str, str], only: str | None = None) -> None:
    """Raise AliasedClusters when two clusters are one; ``servers`` may add clusters not connected to.

    With ``only``, just the pairs that include that cluster count (a controller worker checks itself)."""
    known = {**servers, **{name: client.server for name, client in clients.items()}}
    problems = same_servers(clusters, known, only)
    if not problems:
        uids = {name: uid for name, client in clients.items() if (uid := kube_system_uid(client)) is not None}
        problems = same_uids(clusters, uids, only)
    if problems:
        raise AliasedClusters("\n".join(problems))
