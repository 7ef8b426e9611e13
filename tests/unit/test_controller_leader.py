"""Leader election logic against an in-memory Lease endpoint with the API server's optimistic concurrency
(resourceVersion). The real API server is exercised by tests/integration/e2e/test_leader.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.controller.leader import LeaderElector
from reconciler.kube.errors import Conflict, NotFound

PATH = "/apis/coordination.k8s.io/v1/namespaces/reconciler-system/leases/reconciler"


class LeaseStore:
    """GET, POST and PUT of one Lease, refusing stale resourceVersions as the API server does."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.name = "shared"
        self.writes: list[str] = []

    def request(self, method: str, path: str, subject: str, *, body: dict[str, Any] | None = None,
                **_: Any) -> dict[str, Any]:
        if "dryRun" in _.get("query", {}):
            return {}  # the fence probe, admitted: no fence policy, or one that sees this replica as holder
        if method == "GET":
            if self.lease is None:
                raise NotFound("shared", subject, 404, "not found")
            return copy.deepcopy(self.lease)
        assert body is not None
        if method == "POST":
            if self.lease is not None:
                raise Conflict("shared", subject, 409, "already exists")
        elif method == "PUT":
            assert self.lease is not None
            if body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
                raise Conflict("shared", subject, 409, "the object has been modified")
        self.version += 1
        self.lease = copy.deepcopy(body)
        self.lease["metadata"]["resourceVersion"] = str(self.version)
        self.writes.append(body["spec"]["holderIdentity"])
        return copy.deepcopy(self.lease)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> LeaseStore:
    return LeaseStore()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def elector(store: LeaseStore, clock: Clock, identity: str) -> LeaderElector:
    return LeaderElector(store, "reconciler-system", "reconciler", identity,  # type: ignore[arg-type]
                         duration=15, clock=clock)


def test_the_first_replica_creates_the_lease_and_renews_it(store: LeaseStore, clock: Clock) -> None:
    a = elector(store, clock, "a")
    assert a.try_acquire_or_renew() and a.is_leader()
    assert store.lease is not None and store.lease["spec"]["holderIdentity"] == "a"
    assert store.lease["spec"]["leaseDurationSeconds"] == 15
    clock.now += 2
    assert a.try_acquire_or_renew()
    assert store.lease["spec"]["leaseTransitions"] == 0


def test_a_standby_waits_for_the_lease_to_expire_on_its_own_clock(store: LeaseStore, clock: Clock) -> None:
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew() and b.holder == "a"
    clock.now += 14  # a stopped renewing 14 s ago: not expired yet
    assert not b.try_acquire_or_renew()
    clock.now += 1.5
    assert b.try_acquire_or_renew() and b.is_leader()
    assert store.lease is not None
    assert store.lease["spec"]["holderIdentity"] == "b" and store.lease["spec"]["leaseTransitions"] == 1


def test_a_leader_that_cannot_renew_stops_leading_before_the_lease_expires(store: LeaseStore, clock: Clock) -> None:
    a = elector(store, clock, "a")
    assert a.try_acquire_or_renew()
    clock.now += a.renew_deadline - 0.1
    assert a.is_leader()
    clock.now += 0.2
    assert not a.is_leader(), "past the renew deadline a leader must stop writing"
    assert a.renew_deadline < a.duration


def test_of_two_racing_replicas_one_wins(store: LeaseStore, clock: Clock) -> None:
    a, b, c = elector(store, clock, "a"), elector(store, clock, "b"), elector(store, clock, "c")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew() and not c.try_acquire_or_renew()
    clock.now += 20  # a is gone; b and c both see the lease expired

    original = store.request

    def c_writes_first(method: str, path: str, subject: str, **kwargs: Any) -> dict[str, Any]:
        if method == "PUT":
            store.request = original  # type: ignore[method-assign]
            assert c.try_acquire_or_renew()
        return original(method, path, subject, **kwargs)

    store.request = c_writes_first  # type: ignore[method-assign]
    assert not b.try_acquire_or_renew(), "b's update carries a stale resourceVersion"
    assert c.is_leader() and not b.is_leader()
    assert store.lease is not None and store.lease["spec"]["holderIdentity"] == "c"


def test_release_lets_a_standby_take_over_at_once(store: LeaseStore, clock: Clock) -> None:
    a, b = elector(store, clock, "a"), elector(store, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    a.release()
    assert not a.is_leader()
    assert store.lease is not None and store.lease["spec"]["holderIdentity"] == ""
    assert b.try_acquire_or_renew()
