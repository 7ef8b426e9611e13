"""The clients that the checks of one revision share: each cluster is connected at most once per revision (its
failure remembered, so a cluster that cannot be reached is not tried again by the next check), and every client is
closed once the revision has been judged.

Reads and dry runs go through a cluster worker's client when it has one for the same connection
(:meth:`RevisionClients.reader`): its watches hold what the checks read, so judging a commit sends each API server
one request, to learn that it still answers (the watches would not tell a server whose etcd stopped), and the dry
runs. Events are recorded with a client of the revision's own, which no write guard stops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from reconciler.config.model import Cluster, ClusterConnection
from reconciler.errors import ReconcilerError
from reconciler.kube.cache import CachedClient
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import connect_one


class RevisionClients:
    def __init__(self, kubeconfig: Path | None,
                 cached: Callable[[Cluster], CachedClient | None] = lambda cluster: None) -> None:
        self.kubeconfig = kubeconfig
        self.cached = cached
        self._lock = threading.Lock()  # live usage is read from several clusters at once
        self._clients: dict[tuple[str, ClusterConnection], ClusterClient | ReconcilerError] = {}
        self._answered: dict[str, ReconcilerError | None] = {}  # by cluster: whether its worker's server answered

    def of(self, cluster: Cluster) -> ClusterClient:
        """The client of ``cluster``, connected on first use; raises the :class:`ReconcilerError` that connecting
        raised, the first time and every time after."""
        key = (cluster.name, cluster.connection)
        with self._lock:
            known = self._clients.get(key)
        if known is None:
            try:
                made: ClusterClient | ReconcilerError = connect_one(cluster, self.kubeconfig)
            except ReconcilerError as error:
                made = error
            with self._lock:
                known = self._clients.setdefault(key, made)
            if known is not made and isinstance(made, ClusterClient):
                made.close()  # another thread connected first
        if isinstance(known, ReconcilerError):
            raise known
        return known

    def reader(self, cluster: Cluster, namespaces: frozenset[str] | None = None) -> ClusterClient:
        """A client for the checks' reads and dry runs: the worker's, through its watches (only ``namespaces``
        decoded, when given), else :meth:`of`. The worker's passes its write guard: it raises Fenced when this
        replica may not write to the cluster."""
        worker = self.cached(cluster)
        if worker is None:
            return self.of(cluster)
        with self._lock:
            known = cluster.name in self._answered
        if not known:
            try:
                worker.authenticate()
                answer: ReconcilerError | None = None
            except ReconcilerError as error:
                answer = error
            with self._lock:
                self._answered.setdefault(cluster.name, answer)
        with self._lock:
            failed = self._answered[cluster.name]
        if failed is not None:
            raise failed
        return worker if namespaces is None else worker.scoped(namespaces)

    def close(self) -> None:
        with self._lock:
            made, self._clients = list(self._clients.values()), {}
        for client in made:
            if isinstance(client, ClusterClient):
                client.close()

    def __enter__(self) -> RevisionClients:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
