"""The write guard: a leader may write only while its last renewal is younger than the renew deadline minus a
retry period, measured on its own clock, and never after a failed renewal; the client asks the guard before it
sends a write (and again once it is prepared), so a refused write never leaves the process and is not counted; a
new leader writes only once the API server's fence policy sees it as holder. The real API server, and its policy,
are exercised by tests/integration/e2e/test_fencing.py."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s

from reconciler.controller.leader import LeaderElector
from reconciler.kube.client import ClusterClient, resource_of
from reconciler.kube.errors import Forbidden, KubeError, ServerError, Unreachable
from reconciler.kube.fence import POLICY, Fenced, replica_identity, server_sees_holder

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


def test_the_guard_is_asked_again_once_the_request_is_prepared() -> None:
    """A pause while the request was being serialised (the lease expired meanwhile) is caught before it is sent."""
    client = ClusterClient("shared", k8s.ApiClient(k8s.Configuration(host="http://127.0.0.1:9")))
    asked: list[str] = []

    def expires_while_preparing(subject: str) -> None:
        asked.append(subject)
        if len(asked) > 1:
            raise Fenced("shared", subject, "the lease expired")

    client.guard = expires_while_preparing
    with pytest.raises(Fenced, match="the lease expired"):
        client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-dev"}})
    assert asked == ["apply Namespace ml-dev"] * 2 and client.writes == 0


def test_a_replica_is_named_after_its_pod_as_the_api_server_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAME", "reconciler-6b6c54c86c-wfqmj")
    first, second = replica_identity(), replica_identity()
    assert first.startswith("reconciler-6b6c54c86c-wfqmj_") and first != second, "two processes of one Pod differ"


class Probed:
    """Answers the fence probe: denied by the fence policy ``stale`` times (its informer still sees the previous
    holder), then admitted; or with another error."""

    def __init__(self, stale: int, error: KubeError | None = None) -> None:
        self.stale, self.error, self.asked = stale, error, 0
        self.name = "shared"

    def request(self, method: str, path: str, subject: str, **options: Any) -> dict[str, Any]:
        assert method == "PATCH" and options["query"]["dryRun"] == "All" and options["fenced"] is False
        self.asked += 1
        if self.error is not None:
            raise self.error
        if self.asked <= self.stale:
            raise Forbidden("shared", subject, 403, f"{POLICY} with binding 'reconciler-fence' denied request: "
                            "replica a does not hold Lease reconciler-system/reconciler (holder: b_1)")
        return {}


def sees(probed: Probed, timeout: float = 1.0) -> bool:
    return server_sees_holder(probed, "reconciler-system", timeout, 1.0)  # type: ignore[arg-type]


def test_a_new_leader_waits_until_the_api_server_sees_it_as_holder() -> None:
    probed = Probed(stale=3)
    assert sees(probed) and probed.asked == 4
    assert not sees(Probed(stale=1000), timeout=0.2), "still the previous holder's: no right to write yet"
    assert not sees(Probed(0, Unreachable("shared", "dry-run apply", 0, "connection refused"))), "ask again later"
    rbac = Forbidden("shared", "dry-run apply", 403, 'configmaps "fence-probe" is forbidden: User cannot patch')
    assert sees(Probed(0, rbac)), "a denial that is not the fence policy's is not the fence's to decide"


def test_a_takeover_the_api_server_does_not_see_yet_gives_no_right_to_write() -> None:
    store, clock = LeaseStore(), Clock()
    leader = elector(store, clock)
    probe = Probed(stale=1000)
    answer = store.request

    def request(method: str, path: str, subject: str, **options: Any) -> dict[str, Any]:
        if "dryRun" in options.get("query", {}):
            return probe.request(method, path, subject, **options)
        return answer(method, path, subject, **options)

    store.request = request  # type: ignore[method-assign]
    leader.retry_period = 0.1
    leader.try_acquire_or_renew()
    assert store.writes == ["a"] and not leader.is_leader() and not leader.may_write()
    probe.stale = 0  # the informer caught up: the next renewal confirms it
    assert leader.try_acquire_or_renew() and leader.is_leader() and leader.may_write()
