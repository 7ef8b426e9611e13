"""Leadership per cluster: a replica leads a cluster by holding a Lease *on that cluster*.

With one Lease on one cluster, an outage of that cluster's API server stopped every cluster: no replica could
renew, so none wrote anywhere. With a Lease per cluster, kept where the writes go, a cluster whose API server is
down stops only itself; the others keep converging under their own leases. The same replica usually ends up
leading every cluster, but nothing depends on it. The Lease's client is separate from the converge's, so renewals
never queue behind a converge's requests, and it never passes the write guard (it is how the right is earned).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.config.model import Cluster
from reconciler.controller.leader import LeaderElector
from reconciler.kube.connect import connect_one

# cluster, leading, holder, why unreachable, since when the Lease's cluster refuses the credentials (HTTP 401)
OnChange = Callable[[str, bool, str | None, str | None, float | None], None]


@dataclass(frozen=True)
class LeaseSettings:
    namespace: str
    name: str
    identity: str
    duration: float


class ClusterLease:
    """One cluster's Lease, acquired and renewed by a thread of its own until :meth:`close`."""

    def __init__(self, cluster: Cluster, settings: LeaseSettings, kubeconfig: Path | None,
                 on_change: OnChange) -> None:
        client = connect_one(cluster, kubeconfig)
        self.cluster = cluster.name
        self.elector = LeaderElector(client, settings.namespace, settings.name, settings.identity,
                                     duration=settings.duration)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.elector.run, args=(self._stop, self._changed),
                                        name=f"lease-{cluster.name}", daemon=True)
        self._on_change = on_change

    def _changed(self, leading: bool, holder: str | None) -> None:
        self._on_change(self.cluster, leading, holder, self.elector.last_error, self.elector.client.unauthorized_since)

    def start(self) -> None:
        self._thread.start()

    def may_write(self) -> bool:
        return self.elector.may_write()

    def fence(self, subject: str) -> None:
        self.elector.fence(subject)

    def close(self, timeout: float = 30.0) -> None:
        """Stop renewing and release the Lease (called after the cluster's last write)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.elector.client.close()
