"""One way to build clients: from a landscape's Cluster documents and a command's options (``--kubeconfig``,
``--context [CLUSTER=]CONTEXT`` overrides, ``--cluster``), one client per cluster, each re-reading its credentials
after a 401 and on a schedule (:mod:`reconciler.kube.api_sources`, :mod:`reconciler.kube.credentials`).

:func:`connect_landscape` is what every command uses; it also proves that no two Cluster documents reach the same
API server before anything is written (see :mod:`reconciler.kube.identity`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import yaml

from reconciler.config import contexts
from reconciler.config.model import Cluster, ClusterConnection
from reconciler.kube import api_sources, identity
from reconciler.kube.client import ClusterClient
from reconciler.kube.credentials import ApiSource
from reconciler.kube.errors import ConnectionConfigError


@dataclass(frozen=True)
class ConnectOptions:
    """How a command reaches its clusters, as its flags say."""

    kubeconfig: Path | None = None  # --kubeconfig; None: $KUBECONFIG, else ~/.kube/config
    contexts: tuple[str, ...] = ()  # --context [CLUSTER=]CONTEXT, each overriding a Cluster's own context
    cluster: str | None = None  # --cluster: only this cluster (a bare --context CONTEXT is for it)


@dataclass
class Clients:
    """The clients of the clusters that could be reached, and why each other one could not (it fails alone)."""

    clients: dict[str, ClusterClient]
    unusable: dict[str, ConnectionConfigError] = field(default_factory=dict)
    owned: bool = True  # False when a ClientCache keeps the clients open for the next landscape

    def close(self) -> None:
        if self.owned:
            for client in self.clients.values():
                client.close()

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class ClientCache:
    """Clients kept across landscapes by a long-running command (``dev``, a controller worker): a cluster's client
    is reused while its connection is unchanged, so a new revision does not reconnect."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[ClusterConnection, ClusterClient]] = {}

    def client(self, cluster: Cluster, kubeconfig: Path | None) -> ClusterClient:
        kept = self._kept.get(cluster.name)
        if kept is not None and kept[0] == cluster.connection:
            return kept[1]
        if kept is not None:
            kept[1].close()
            del self._kept[cluster.name]
        client = connect(cluster, kubeconfig)
        self._kept[cluster.name] = (cluster.connection, client)
        return client

    def close(self) -> None:
        for _, client in self._kept.values():
            client.close()
        self._kept.clear()


def connect_landscape(clusters: Mapping[str, Cluster], options: ConnectOptions, names: Iterable[str] | None = None,
                      *, cache: ClientCache | None = None, verify: bool = True) -> Clients:
    """Clients for ``names`` of ``clusters`` (default: ``options.cluster`` alone, else every cluster), each
    connecting through its ``--context`` override where one is given.

    Raises ReconcilerError for a ``--cluster`` or ``--context`` naming no Cluster of the repository, and
    AliasedClusters when two Cluster documents reach one API server (by the URLs of every context the kubeconfig
    resolves, also of clusters not selected, then by the kube-system UID of the connected ones). A cluster whose
    credentials cannot be used is left out and named in ``unusable``. With ``cache``, clients come from it and stay
    open after ``close``; otherwise the caller closes them (``with connect_landscape(...) as found:``). ``verify``
    False skips the aliasing proof (one GET per cluster), for a caller that has made it for these clusters already,
    such as a controller whose workers each prove it with :func:`verify_worker`."""
    selected = contexts.selected_clusters(clusters, options.cluster) if names is None else sorted(set(names))
    overrides = contexts.context_overrides(options.contexts, options.cluster, clusters)
    reached = contexts.with_contexts(clusters, overrides)
    found = Clients({}, owned=cache is None)
    for name in selected:
        try:
            found.clients[name] = (cache.client(reached[name], options.kubeconfig) if cache
                                   else connect(reached[name], options.kubeconfig))
        except ConnectionConfigError as error:
            found.unusable[name] = error
    if verify:
        try:
            identity.verify_distinct(reached, found.clients,
                                     context_servers(list(reached.values()), options.kubeconfig))
        except identity.AliasedClusters:
            found.close()
            raise
    return found


def connect_one(cluster: Cluster, kubeconfig: Path | None) -> ClusterClient:
    """The client of one ``cluster`` (its --context override already applied), for a controller that reaches each
    cluster on its own thread; raises the ConnectionConfigError that names why it cannot be used."""
    found = connect_landscape({cluster.name: cluster}, ConnectOptions(kubeconfig), [cluster.name], verify=False)
    if cluster.name in found.unusable:
        raise found.unusable[cluster.name]
    return found.clients[cluster.name]


def connect(cluster: Cluster, kubeconfig: Path | None = None, home: ClusterClient | None = None) -> ClusterClient:
    """A client for one ``cluster`` as its document says. ``home`` is the cluster the reconciler runs in (for
    kubeconfig Secrets)."""
    connection = cluster.connection
    if connection.context is not None:
        context = connection.context
        return ClusterClient(cluster.name, ApiSource(
            cluster.name, lambda: api_sources.from_kubeconfig(cluster, kubeconfig, context)))
    if connection.in_cluster:
        return ClusterClient(cluster.name, ApiSource(cluster.name, lambda: api_sources.in_cluster(cluster)))
    secret_home = home or ClusterClient("home", ApiSource("home", lambda: api_sources.home_api(kubeconfig)))
    return ClusterClient(cluster.name, ApiSource(cluster.name, lambda: api_sources.from_secret(cluster, secret_home)))


def context_servers(clusters: Sequence[Cluster], kubeconfig: Path | None) -> dict[str, str]:
    """The server URL each context connection names, read from the kubeconfig without connecting or running
    credential plugins; clusters whose context is not there are left out (they may not be ours to reach)."""
    contexts: dict[str, str] = {}
    servers: dict[str, str] = {}
    for path in api_sources.kubeconfig_files(kubeconfig):
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for entry in document.get("contexts") or []:
            contexts.setdefault(str(entry.get("name")), str((entry.get("context") or {}).get("cluster")))
        for entry in document.get("clusters") or []:
            servers.setdefault(str(entry.get("name")), str((entry.get("cluster") or {}).get("server", "")))
    return {
        cluster.name: servers[contexts[cluster.connection.context]]
        for cluster in clusters
        if cluster.connection.context in contexts and servers.get(contexts[cluster.connection.context])
    }


def verify_worker(cluster: Cluster, client: ClusterClient, clusters: Mapping[str, Cluster],
                  kubeconfig: Path | None) -> None:
    """A controller worker's own proof that no other Cluster document reaches its server: against every other
    cluster this installation can reach (one GET each), and the URLs of every context the kubeconfig resolves."""
    names = [name for name in clusters if name != cluster.name]
    # One reconciler per cluster holds no credentials for the others: those are left out, not errors.
    with connect_landscape(clusters, ConnectOptions(kubeconfig), names, verify=False) as others:
        identity.verify_distinct(clusters, {**others.clients, cluster.name: client},
                                 context_servers(list(clusters.values()), kubeconfig), only=cluster.name)
