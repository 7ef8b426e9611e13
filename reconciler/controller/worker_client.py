"""A cluster worker's client: built through :mod:`reconciler.kube.connect` and proven to reach no server another
Cluster document reaches, reading through watches (:mod:`reconciler.kube.cache`), every write passing the worker's
guard first. It is kept while the cluster's connection is unchanged, so a new revision does not reconnect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconciler.config.model import Cluster, ClusterConnection, Landscape
from reconciler.errors import ReconcilerError
from reconciler.kube.cache import CachedClient
from reconciler.kube.connect import connect_one, verify_worker
from reconciler.kube.fence import WriteGuard
from reconciler.kube.store import Key


class WorkerClient:
    def __init__(self, name: str, kubeconfig: Path | None, guard: WriteGuard, on_write: Callable[[str], None],
                 on_change: Callable[[str, Key], None]) -> None:
        self.name = name
        self.kubeconfig = kubeconfig
        self.current: CachedClient | None = None  # None until connected, and after a connection failed
        self._guard, self._on_write, self._on_change = guard, on_write, on_change
        self._connection: ClusterConnection | None = None

    def of(self, landscape: Landscape) -> CachedClient:
        """The client for the cluster as ``landscape`` describes it; raises the ReconcilerError that keeps it
        from being used (its credentials, or another Cluster document reaching the same server)."""
        cluster = landscape.clusters[self.name]
        if self.current is not None and self._connection == cluster.connection:
            return self.current
        self.close()
        client = connect_one(cluster, self.kubeconfig)
        try:
            verify_worker(cluster, client, landscape.clusters, self.kubeconfig)
        except ReconcilerError:
            client.close()
            raise
        cached = CachedClient(client, on_change=self._on_change)  # resyncs read watches, not the server
        cached.guard, cached.on_write = self._guard, self._on_write
        self.current, self._connection = cached, cluster.connection
        return cached

    def reusable(self, cluster: Cluster) -> CachedClient | None:
        """The client as connected now, when ``cluster`` still connects as it did; else None."""
        current = self.current
        return current if current is not None and self._connection == cluster.connection else None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
        self.current, self._connection = None, None
