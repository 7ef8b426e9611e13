"""Leader election with a coordination.k8s.io/v1 Lease, so several replicas can run and only one writes.

The algorithm is client-go's: read the Lease; if another holder renewed it within its duration (as observed on
this replica's own clock, so clock skew between machines does not matter), wait; otherwise take or renew it with an
update that carries the Lease's resourceVersion (optimistic concurrency: of two replicas racing, one gets a 409).
A leader that could not renew within the renew deadline (two thirds of the lease duration) stops counting itself
leader *before* the lease can expire, so two replicas never both believe they lead. On a clean stop the lease is
released, and a standby takes over at its next attempt instead of waiting for the lease to expire.

Fencing: :meth:`LeaderElector.fence` is the write guard of the leader's clients. It lets a write through only while
the last successful renewal, measured on this process's monotonic clock, is younger than the renew deadline minus
one retry period, and no renewal has failed since. A leader paused (SIGSTOP, a long GC, a frozen VM) past its
deadline therefore refuses its next write when it resumes, before it learns that someone else took over; and a
failed renewal stops the queued writes at once rather than at the deadline.

The Lease's requests are :mod:`reconciler.kube.lease`'s, over ``ClusterClient.request``; the algorithm is written
here rather than taken from ``kubernetes.leaderelection`` (37.x), which was read first: its LeaseLock calls
``CoordinationV1Api()`` on the client's global default configuration, so it cannot use the credentials of one
kubeconfig context or kubeconfig Secret; its ``run()`` blocks until leadership is lost, with no way to stop and
release the lease on shutdown; it measures deadlines on the wall clock; and only ``reconciler/kube`` may import the
client.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from reconciler.kube import lease as lease_api
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Conflict, KubeError, NotFound
from reconciler.kube.fence import Fenced, server_sees_holder

log = logging.getLogger("reconciler.leader")

Clock = Callable[[], float]


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(self, client: ClusterClient, namespace: str, name: str, identity: str, *,
                 duration: float = 15.0, clock: Clock = time.monotonic) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.duration = duration
        self.renew_deadline = duration * 2 / 3
        self.retry_period = max(0.2, duration / 7.5)
        self.timeout = max(1.0, self.renew_deadline / 2)  # one attempt never outlives the renew deadline
        self._renewal_failed = False
        self._unconfirmed = False  # holds the Lease, but the API server may not see it yet
        self.last_error: str | None = None  # why the last attempt could not reach the Lease, shown on /status
        self.clock = clock
        self.holder: str | None = None
        self._renewed_at: float | None = None
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._lock = threading.Lock()

    @property
    def where(self) -> str:
        return lease_api.describe(self.client, self.namespace, self.name)

    def is_leader(self) -> bool:
        """True while the last successful renewal is younger than the renew deadline."""
        with self._lock:
            return self._renewed_at is not None and self.clock() - self._renewed_at < self.renew_deadline

    def may_write(self) -> bool:
        """Leader with margin: renewed within the renew deadline minus one retry period, and no failure since."""
        with self._lock:
            if self._renewed_at is None or self._renewal_failed:
                return False
            return self.clock() - self._renewed_at < self.renew_deadline - self.retry_period

    def fence(self, subject: str) -> None:
        """The write guard: raise :class:`Fenced` unless this replica may write now."""
        if not self.may_write():
            raise Fenced(self.client.name, subject, f"this replica does not hold the {self.where} with margin "
                         f"(lost, not yet acquired, or not renewed within {self.renew_deadline:.1f}s)")

    def _attempted(self, held: bool) -> bool:
        with self._lock:
            self._renewal_failed = not held
        if held:
            self.last_error = None
        return held

    def _spec(self, previous: dict[str, Any], now: str) -> dict[str, Any]:
        transitions = int(previous.get("leaseTransitions") or 0)
        acquired = previous.get("acquireTime") or now
        if previous.get("holderIdentity") != self.identity:
            acquired = now
            if previous.get("holderIdentity"):
                transitions += 1
        return {"holderIdentity": self.identity, "leaseDurationSeconds": max(1, math.ceil(self.duration)),
                "renewTime": now, "acquireTime": acquired, "leaseTransitions": transitions}

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this replica holds the lease afterwards."""
        return self._attempted(self._try(self.clock()))

    def _try(self, started: float) -> bool:
        try:
            lease = lease_api.read(self.client, self.namespace, self.name, timeout=self.timeout)
        except NotFound:
            return self._create(started)
        except KubeError as error:
            log.warning("cannot read the lease", extra={"lease": self.where, "error": str(error)})
            self.last_error = str(error)
            return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, spec.get("renewTime"), lease["metadata"].get("resourceVersion"))
        if record != self._observed:
            self._observed, self._observed_at = record, started
        self.holder = holder or None
        duration = spec.get("leaseDurationSeconds") or self.duration
        if holder and holder != self.identity and started < self._observed_at + duration:
            return False
        lease["spec"] = self._spec(spec, _micro_time())
        try:
            lease_api.update(self.client, lease, "update", timeout=self.timeout)
        except Conflict:
            return False  # another replica wrote it first
        except KubeError as error:
            log.warning("cannot renew the lease", extra={"lease": self.where, "error": str(error)})
            self.last_error = str(error)
            return False
        self._took(started, taken_over=holder != self.identity, previous=holder)
        return True

    def _create(self, started: float) -> bool:
        try:
            lease_api.create(self.client, self.namespace, self.name, self._spec({}, _micro_time()),
                             timeout=self.timeout)
        except NotFound:
            lease_api.ensure_namespace(self.client, self.namespace, timeout=self.timeout)
            return False  # the namespace is there now: the next attempt creates the lease
        except Conflict:
            return False
        except KubeError as error:
            log.warning("cannot create the lease", extra={"lease": self.where, "error": str(error)})
            self.last_error = str(error)
            return False
        self._took(started, taken_over=True, previous="")
        return True

    def _took(self, started: float, *, taken_over: bool, previous: str) -> None:
        # Not a leader until the API server's fence policy sees it as one: until then it would still admit the
        # late writes of the previous holder (see reconciler.kube.fence).
        self._unconfirmed = self._unconfirmed or taken_over
        if self._unconfirmed and not server_sees_holder(
                self.client, self.namespace, patience=self.retry_period, timeout=self.timeout):
            log.info("holds the lease; not writing until the API server sees it", extra={"lease": self.where})
            return
        self._unconfirmed = False
        with self._lock:
            self._renewed_at = started
        self.holder = self.identity
        if taken_over:
            log.info("became the leader", extra={"lease": self.where, "identity": self.identity,
                                                 "previousHolder": previous or None})

    def release(self) -> None:
        """Give the lease up (on a clean stop), so a standby does not wait for it to expire."""
        if not self.is_leader():
            return
        with self._lock:
            self._renewed_at = None
        try:
            lease = lease_api.read(self.client, self.namespace, self.name, timeout=self.timeout)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"].update(holderIdentity="", leaseDurationSeconds=1, renewTime=_micro_time())
            lease_api.update(self.client, lease, "release", timeout=self.timeout)
            log.info("released the lease", extra={"lease": self.where})
        except KubeError as error:
            log.warning("could not release the lease; a standby takes over when it expires",
                        extra={"lease": self.where, "error": str(error)})

    def run(self, stop: threading.Event, on_change: Callable[[bool, str | None], None]) -> None:
        """Try to acquire, then keep renewing, every retry period until ``stop`` is set; report every change (of
        leadership, or of the error that keeps the Lease out of reach)."""
        leading, error = False, None
        while not stop.is_set():
            self.try_acquire_or_renew()
            now_leading = self.is_leader()
            if now_leading != leading or self.last_error != error:  # an unreachable Lease is shown, not hidden
                if leading and not now_leading:
                    log.warning("lost the lease: no more writes until it is acquired again",
                                extra={"lease": self.where, "holder": self.holder})
                leading, error = now_leading, self.last_error
                on_change(leading, self.holder)
            stop.wait(self.retry_period)
        self.release()
        if leading:
            on_change(False, None)
