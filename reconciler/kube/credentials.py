"""Credentials that rotate: a cluster's endpoint read again from its source (kubeconfig and its ``tokenFile``, the
in-cluster service account token, a kubeconfig Secret) after a 401 and on a schedule.

A kubeconfig's ``tokenFile`` is read when the endpoint is, so a token rotated in the file (a projected
ServiceAccount token, a CI secret) would otherwise be used until a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from reconciler.errors import ReconcilerError
from reconciler.kube.endpoint import Endpoint

log = logging.getLogger("reconciler.kube")

Build = Callable[[], Endpoint]
REFRESH_SECONDS = 300.0  # projected ServiceAccount tokens are rotated well before they expire (at 80% of an hour)
MIN_RELOAD_GAP = 1.0  # concurrent 401s of one converge rebuild the client once


class ApiSource:
    """The current endpoint of one cluster, read again from ``build`` when asked or when older than ``refresh``."""

    def __init__(self, cluster: str, build: Build, *, refresh: float = REFRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cluster = cluster
        self._build = build
        self.refresh = refresh
        self.clock = clock
        self._lock = threading.Lock()
        self._api = build()
        self._built_at = clock()
        self.reloads = 0

    @classmethod
    def fixed(cls, cluster: str, endpoint: Endpoint) -> ApiSource:
        """An endpoint that is never read again (tests, and credentials given as values)."""
        return cls(cluster, lambda: endpoint, refresh=float("inf"))

    def current(self) -> Endpoint:
        if self.clock() - self._built_at >= self.refresh:
            self.reload("scheduled refresh")
        return self._api

    def reload(self, reason: str) -> bool:
        """Read the endpoint again from its source; False when that failed or was done less than a second ago."""
        with self._lock:
            if self.clock() - self._built_at < MIN_RELOAD_GAP:
                return False
            self._built_at = self.clock()  # also on failure: a broken source is retried at the next gap
            try:
                fresh = self._build()
            except ReconcilerError as error:
                log.warning("cannot re-read the cluster's credentials; keeping the current ones",
                            extra={"cluster": self.cluster, "reason": reason, "error": str(error)})
                return False
            self._api = fresh
            self.reloads += 1
        log.info("credentials re-read", extra={"cluster": self.cluster, "reason": reason})
        return True
