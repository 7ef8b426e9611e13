"""The write guard: a leader may write only while its last renewal is younger than the renew deadline minus a
retry period, measured on its own clock, and never after a failed renewal; the client asks the guard before it
sends a write, so a refused write never leaves the process and is not counted. The real API server is exercised by
tests/integration/e2e/test_fencing.py."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from reconciler.kube.client import ClusterClient, resource_of
from reconciler.kube.errors import ServerError
from reconciler.kube.fence import Fenced
from reconciler.leader import LeaderElector

from .test_controller_leader import Clock, LeaseStore


def elector(store: LeaseStore, clock: Clock) -> LeaderElector:
    return LeaderElector(store, "reconciler-system", "reconciler", "a", duration=15,  # type: ignore[arg-type]
                         clock=clock)


def test_a_leader_stops_writing_one_retry_period_before_its_renew_deadline() -> None:
    clock = Clock()
    leader = elector(LeaseStore(), clock)
    assert not leader.may_write(), "no write before the lease is held"
    assert leader.try_acquire_or_renew() and leader.may_write()
    clock.now += leader.renew_deadline - leader.retry_period - 0.01
    leader.fence("apply ConfigMap ml-dev/x")
    clock.now += 0.02
    assert leader.is_leader() and not leader.may_write(), "no write on a lease about to pass its renew deadline"
    with pytest.raises(Fenced, match="apply ConfigMap ml-dev/x: not sent, this replica does not hold"):
        leader.fence("apply ConfigMap ml-dev/x")


def test_a_failed_renewal_stops_writes_at_once_and_a_good_one_resumes_them() -> None:
    store, clock = LeaseStore(), Clock()
    leader = elector(store, clock)
    assert leader.try_acquire_or_renew()

    def unavailable(*_: object, **__: object) -> None:
        raise ServerError("shared", "get lease", 503, "etcd is not answering")

    working = store.request
    store.request = unavailable  # type: ignore[method-assign, assignment]
    clock.now += 0.1
    assert not leader.try_acquire_or_renew()
    assert leader.is_leader() and not leader.may_write()
    assert leader.last_error is not None and "etcd is not answering" in leader.last_error
    store.request = working  # type: ignore[method-assign]
    assert leader.try_acquire_or_renew() and leader.may_write() and leader.last_error is None


def test_the_client_asks_the_guard_before_a_write_is_sent_or_counted() -> None:
    client = ClusterClient("shared", k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")))
    seen: list[str] = []
    client.on_write = seen.append

    def refuse(subject: str) -> None:
        raise Fenced("shared", subject, "the lease is lost")

    client.guard = refuse
    with pytest.raises(Fenced, match="apply Namespace ml-dev"):
        client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-dev"}})
    with pytest.raises(Fenced):
        client.delete("ConfigMap", "ml-dev", "x")
    assert client.writes == 0 and seen == []


@pytest.mark.parametrize(("path", "resource"), [
    ("/api/v1/namespaces/ml-dev", "namespaces"),
    ("/api/v1/namespaces/ml-dev/configmaps/x", "configmaps"),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/ml-dev/rolebindings/y", "rolebindings"),
    ("/apis/apps/v1/namespaces/ml-dev/deployments/ml-agent", "deployments"),
    ("/api/v1/namespaces/ml-dev/events", "events"),
])
def test_writes_are_counted_by_the_resource_the_api_server_names(path: str, resource: str) -> None:
    assert resource_of(path) == resource
