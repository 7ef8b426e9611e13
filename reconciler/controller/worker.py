"""One thread per cluster: converge it on a new revision, on retry after a failure (with backoff) and every resync.

A cluster that fails is retried alone, with exponential backoff, so one cluster's failure is its own (when, is
:mod:`reconciler.controller.schedule`). Every write of the worker's client (:mod:`reconciler.controller.
worker_client`) passes :meth:`ClusterWorker._guard` first: nothing is written once a stop is requested, the
cluster left the repository, or (with --leader-elect) this replica does not hold the cluster's Lease with margin.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.config.model import Landscape
from reconciler.controller import sync_report
from reconciler.controller.leases import ClusterLease
from reconciler.controller.outcome import outcome_of
from reconciler.controller.reuse import Reuse
from reconciler.controller.schedule import Schedule
from reconciler.controller.status_model import SyncOutcome
from reconciler.controller.worker_client import WorkerClient
from reconciler.converge import engine as converge
from reconciler.errors import ReconcilerError
from reconciler.kube.fence import Fenced
from reconciler.kube.store import Key

if TYPE_CHECKING:
    from reconciler.controller.loop import Controller

log = logging.getLogger("reconciler.controller")


class Stopped(Exception):
    """Raised after a write when the controller must stop writing (shutdown, or the lease was lost)."""


@dataclass(frozen=True)
class Desired:
    revision: str
    landscape: Landscape


class ClusterWorker:
    """Converges one cluster: on a new revision, on retry after a failure (with backoff), and on resync."""

    def __init__(self, name: str, controller: Controller) -> None:
        self.name = name
        self.controller = controller
        self.wake = threading.Event()
        self.desired: Desired | None = None
        self.applied: str | None = None  # the revision last converged without error
        self.schedule = Schedule(controller.settings.resync, controller.settings.max_backoff)
        self.retired = False  # the cluster left the repository
        self.reuse = Reuse(name)  # what a new revision does not change is not converged again
        self.client = WorkerClient(name, controller.settings.kubeconfig, self._guard, self._count_write,
                                   self._drifted)
        self.lease: ClusterLease | None = None
        self.thread = threading.Thread(target=self._loop, name=f"cluster-{name}", daemon=True)

    def offer(self, desired: Desired) -> None:
        self.desired = desired
        self.wake.set()

    def resync_now(self) -> None:
        """Converge at once, everything, although the revision was applied (another replica may have written
        meanwhile)."""
        self.reuse.forget()
        self.schedule.force = True
        self.wake.set()

    def _due(self, now: float) -> bool:
        desired = self.desired
        return desired is not None and self.may_write() and self.schedule.due(desired.revision, now)

    def _next_wake(self, now: float) -> float:
        if not self.may_write():
            return self.controller.settings.resync  # woken when this replica becomes the leader
        return self.schedule.next_wake(now)

    def may_write(self) -> bool:
        if not self.controller.settings.leader_elect:
            return True
        return self.lease is not None and self.lease.may_write()

    def _guard(self, subject: str) -> None:
        """Every write of this cluster's client passes here first (see reconciler.kube.fence)."""
        if self.controller.stop.is_set() or self.retired:
            raise Fenced(self.name, subject, "the reconciler is stopping")
        if self.controller.settings.leader_elect:
            if self.lease is None:
                raise Fenced(self.name, subject, "leader election has not started for this cluster")
            self.lease.fence(subject)

    def _loop(self) -> None:
        stop = self.controller.stop
        while not stop.is_set() and not self.retired:
            self._ensure_lease()
            self.wake.wait(self._next_wake(time.monotonic()))
            self.wake.clear()
            if stop.is_set() or self.retired:
                break
            if self._due(time.monotonic()):
                self._sync_once()
        if self.lease is not None:
            self.lease.close()  # after the last write: releases the Lease for a standby
        self.client.close()

    def _sync_once(self) -> None:
        try:
            self.sync()
        except (Stopped, Fenced) as reason:
            log.info("stopped writing", extra={"cluster": self.name, "reason": str(reason)})
            if isinstance(reason, Fenced) and self.lease is not None:
                self.controller.status.set_leader(False, self.lease.elector.holder, cluster=self.name)
        except Exception:
            log.exception("unexpected error while converging", extra={"cluster": self.name})
            self._failed("unexpected error; see the reconciler's log")

    def _ensure_lease(self) -> None:
        """With --leader-elect: start competing for this cluster's Lease (once; retried while it cannot)."""
        desired = self.desired
        settings = self.controller.settings
        if not settings.leader_elect or self.lease is not None or desired is None:
            return
        try:
            self.lease = ClusterLease(desired.landscape.clusters[self.name], settings.lease(), settings.kubeconfig,
                                      self.controller.on_leadership)
        except ReconcilerError as error:
            self._failed(f"cannot start leader election on this cluster: {error}")
            return
        self.controller.status.set_leader(False, None, cluster=self.name)
        self.lease.start()
        log.info("leader election started", extra={"lease": self.lease.elector.where, "identity": settings.identity})

    def _drifted(self, kind: str, key: Key) -> None:
        """Someone changed or deleted a managed object: undo it now, not at the next resync (but a cluster that
        failed keeps its backoff). Only its target is converged again when it lives in one's namespace."""
        self.reuse.live_changed(key[1] if kind == "Namespace" else key[0] or None)
        if self.schedule.retry_at is None:
            self.schedule.force = True
            self.wake.set()

    def _count_write(self, resource: str) -> None:
        self.controller.status.count("reconciler_write_requests_total", cluster=self.name, resource=resource)

    def _progress(self, message: str) -> None:
        self.controller.status.progress(self.name)
        log.info(message, extra={"cluster": self.name})
        if self.controller.stop.is_set():
            raise Stopped("shutting down after the object just written")

    def sync(self) -> None:
        desired = self.desired
        assert desired is not None
        forced = self.schedule.force  # by drift, or by resync_now, which forgets what could be reused
        self.schedule.started(desired.revision)
        status = self.controller.status
        status.converging(self.name, desired.revision)
        started = time.monotonic()
        drift = self.applied == desired.revision
        try:
            known = self.client.current
            client = self.client.of(desired.landscape)
            if not drift:
                client.authenticate()  # reads come from watches, which a revoked credential does not end
        except ReconcilerError as error:
            if self.client.current is not None:
                status.authentication(self.name, self.client.current.unauthorized_since)
            self._failed(str(error))
            return
        targets = desired.landscape.select(cluster=self.name)
        # A resync (not forced) or a new connection, whose watches start afresh, converges everything.
        scope = self.reuse.scope(desired.landscape, targets, full=(drift and not forced) or client is not known)
        if scope.namespaces is not None:
            client = client.scoped(scope.namespaces)  # reads decode only the targets converged
        options = converge.ConvergeOptions(revision=desired.revision, applied_by="controller")
        result = converge.converge(desired.landscape, {self.name: client}, options, scope.targets,
                                   self._progress)[0]
        outcome = outcome_of(result, desired.revision, time.monotonic() - started, drift)
        retry_in: float | None = None
        if outcome.state == "failed":
            retry_in = self.schedule.failed(time.monotonic())
            sync_report.log_failed(self.name, desired.revision, result, self.schedule.failures, retry_in)
        else:
            self.schedule.settled(time.monotonic())
            if outcome.state == "converged":
                self.applied = outcome.revision
            sync_report.log_settled(self.name, result, outcome)
        self.reuse.converged(desired.landscape, outcome, scope)
        status.synced(self.name, outcome, self.schedule.failures, retry_in, kept=scope.kept)
        status.authentication(self.name, client.unauthorized_since)
        sync_report.record_events(client, result, desired.revision, drift, self.controller.settings.identity)

    def _failed(self, error: str) -> None:
        revision = self.desired.revision if self.desired else ""
        retry_in = self.schedule.failed(time.monotonic())
        failures = self.schedule.failures
        log.warning("cannot converge this cluster; retrying it alone", extra={
            "cluster": self.name, "error": error, "failures": failures, "retryInSeconds": round(retry_in, 1)})
        self.controller.status.synced(self.name, SyncOutcome("failed", revision, 0.0, errors=[error]), failures,
                                      retry_in)
