"""A converge through the watch cache: a no-op sends nothing to the API server, writes are seen at once, a relist
after an API server restart keeps the cache right, and it holds only what the reconciler reads."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.converge import engine as converge
from reconciler.converge.engine import ClusterResult
from reconciler.kube.cache import CachedClient
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.plan.inventory import ObjectRef
from testenv import audit, controlplane, polling

from .support import audit_marks, clients, private_repo, reconciler_requests, run_cli

pytestmark = pytest.mark.integration

QUOTA = "environment-quota"


@pytest.fixture
def repo(tmp_path: Path, kubeconfig: Path) -> Path:
    repo = private_repo(tmp_path, "w" + uuid.uuid4().hex[:6])
    assert run_cli("apply", str(repo), "--kubeconfig", str(kubeconfig)) == 0
    return repo


@pytest.fixture
def cached(repo: Path, kubeconfig: Path) -> Iterator[dict[str, CachedClient]]:
    made = {name: CachedClient(client) for name, client in clients(repo, kubeconfig).items()}
    yield made
    for client in made.values():
        client.close()


def _converge(repo: Path, client: ClusterClient) -> ClusterResult:
    landscape = load_landscape(repo)
    options = converge.ConvergeOptions(revision="test", applied_by="controller")
    (result,) = converge.converge(landscape, {client.name: client}, options,
                                  landscape.select(cluster=client.name), lambda _: None)
    assert not result.errors, result.errors
    return result


def test_a_no_op_through_the_cache_sends_no_request_to_the_api_server(
        repo: Path, cached: dict[str, CachedClient], control_plane: controlplane.TestEnv) -> None:
    for client in cached.values():
        first = _converge(repo, client)  # starts the watches: one LIST each, then nothing
        assert first.writes == 0, first.applied
    # Counted in the audit log for the reconciler's credential and User-Agent. A watch the cache renews (every 5 to
    # 10 minutes) is logged as it ends, in whichever no-op that happens: the fewest seen over three is the no-op's.
    fewest: dict[str, Counter[audit.Key]] = {}
    for _ in range(3):
        for name, client in cached.items():
            marks = audit_marks(control_plane)
            result = _converge(repo, client)
            assert (result.reads, result.writes) == (0, 0), f"cluster {name}: the client sent requests"
            sent = reconciler_requests(marks)[name]
            fewest[name] = sent if name not in fewest else Counter(
                {key: min(n, sent.get(key, 0)) for key, n in fewest[name].items()})
    for name, sent in fewest.items():
        assert +sent == Counter(), f"cluster {name}: a no-op through the cache sent {+sent}"


def test_a_write_is_in_the_cache_before_the_next_plan(repo: Path, kubeconfig: Path,
                                                      cached: dict[str, CachedClient]) -> None:
    gpu = cached["gpu"]
    _converge(repo, gpu)
    namespace = next(t.namespace for t in load_landscape(repo).select(cluster="gpu") if t.environment.name == "prod")
    admin = clients(repo, kubeconfig)["gpu"]
    admin.merge_patch("ResourceQuota", namespace, QUOTA, {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}})
    polling.until(lambda: _cached_gpu_quota(gpu, namespace) == "1", 10, "the watch to see the edited quota")
    undone = _converge(repo, gpu)
    assert f"update ResourceQuota/{namespace}/{QUOTA}" in undone.applied
    # Planned again at once, before the watch could have told: the cache already holds the applied quota.
    again = _converge(repo, gpu)
    assert (again.applied, again.writes, again.reads) == ([], 0, 0)
    assert _cached_gpu_quota(gpu, namespace) == "8"


def test_the_reconcilers_own_writes_are_not_told_as_changes(repo: Path, kubeconfig: Path) -> None:
    """The watch often brings a write's event before the write's response: that echo is no drift, and would make
    the controller's worker converge again for nothing. A watch tells its events in order, so once an edit made
    after a write is told, the write's own event has come too. The watch spans the cluster, where other tests'
    namespaces are still being deleted: only this repository's namespaces count."""
    ours = {t.namespace for t in load_landscape(repo).select(cluster="gpu")}
    told: list[tuple[str, tuple[str, str]]] = []

    def tell(kind: str, key: tuple[str, str]) -> None:
        if (key[1] if kind == "Namespace" else key[0]) in ours:
            told.append((kind, key))

    gpu = CachedClient(clients(repo, kubeconfig)["gpu"], on_change=tell)
    edit = {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}
    try:
        _converge(repo, gpu)
        namespace = next(t.namespace for t in load_landscape(repo).select(cluster="gpu")
                         if t.environment.name == "prod")
        admin = clients(repo, kubeconfig)["gpu"]
        for number in range(21):
            admin.merge_patch("ResourceQuota", namespace, QUOTA, edit)
            polling.until(lambda: _cached_gpu_quota(gpu, namespace) == "1", 10, "the watch to see the edit")
            polling.until(lambda: told, 10, "the edit to be told")
            assert told == [("ResourceQuota", (namespace, QUOTA))], f"after write {number}: {told}"
            told.clear()
            if number < 20:
                assert f"update ResourceQuota/{namespace}/{QUOTA}" in _converge(repo, gpu).applied
    finally:
        gpu.close()


def _cached_bindings(client: CachedClient) -> set[ObjectRef] | None:
    """What the cache lists, once its watch has resumed (until then a read fails, as a LIST would)."""
    try:
        return {ObjectRef.of(o) for o in client.list("RoleBinding", converge.MANAGED_SELECTOR)}
    except KubeError:
        return None


def _held_in(client: CachedClient, namespace: str) -> set[tuple[str, str]]:
    """(kind, name) of every object the cache holds in ``namespace``."""
    return {(informer.query.kind, obj["metadata"]["name"]) for informer in client._all()
            for obj in informer.store.items(lambda key: key[0] == namespace)}


def _cached_gpu_quota(client: CachedClient, namespace: str) -> str | None:
    quota = client.get("ResourceQuota", namespace, QUOTA)
    return None if quota is None else str(quota["spec"]["hard"]["requests.nvidia.com/gpu"])


def test_the_cache_relists_after_an_api_server_restart_and_stays_right(
        repo: Path, kubeconfig: Path, cached: dict[str, CachedClient], control_plane: controlplane.TestEnv) -> None:
    gpu = cached["gpu"]
    _converge(repo, gpu)
    lists = sum(i.lists for i in gpu._all())
    controlplane.stop_component(control_plane, "gpu")
    controlplane.start_component(control_plane, "gpu")
    namespace = next(t.namespace for t in load_landscape(repo).select(cluster="gpu") if t.environment.name == "prod")
    admin = clients(repo, kubeconfig)["gpu"]
    admin.merge_patch("ResourceQuota", namespace, QUOTA, {"spec": {"hard": {"requests.nvidia.com/gpu": "3"}}})
    binding = next(o for o in admin.list("RoleBinding", converge.MANAGED_SELECTOR, namespace=namespace))
    admin.delete("RoleBinding", namespace, binding["metadata"]["name"])
    # The watches resumed from versions the new API server no longer holds (410 Gone) and listed afresh.
    polling.until(lambda: _cached_gpu_quota(gpu, namespace) == "3", 30, "the cache to see the quota edited")
    polling.until(lambda: ObjectRef.of(binding) not in (_cached_bindings(gpu) or {ObjectRef.of(binding)}), 30,
                  "the cache to see the RoleBinding deleted")
    assert sum(i.lists for i in gpu._all()) > lists, "no watch relisted after the restart"
    polling.until(lambda: not gpu.cut_watches(), 60, "every watch to resume")
    undone = _converge(repo, gpu)
    assert {f"update ResourceQuota/{namespace}/{QUOTA}", f"create {ObjectRef.of(binding)}"} <= set(undone.applied)


def test_the_cache_holds_only_what_the_reconciler_reads(repo: Path, kubeconfig: Path,
                                                       cached: dict[str, CachedClient]) -> None:
    shared = cached["shared"]
    _converge(repo, shared)
    namespace = next(t.namespace for t in load_landscape(repo).select(cluster="shared"))
    held, size, here = shared.cached_objects(), shared.cached_bytes(), _held_in(shared, namespace)
    admin = clients(repo, kubeconfig)["shared"]
    for number in range(50):  # not ours: no managed-by label
        admin.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", "create a ConfigMap",
                      body={"metadata": {"name": f"other-{number}"}, "data": {"big": "x" * 2000}})
    # Another manager's apply on one of ours: its managedFields entry is not kept.
    admin.request("PATCH", f"/api/v1/namespaces/{namespace}/resourcequotas/{QUOTA}", "apply as another manager",
                  query={"fieldManager": "someone-else"}, content_type="application/apply-patch+yaml",
                  body={"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": QUOTA, "namespace": namespace,
                        "annotations": {"note": "hello"}}})
    polling.until(lambda: (shared.get("ResourceQuota", namespace, QUOTA) or {}).get("metadata", {}).get(
        "annotations", {}).get("note") == "hello", 10, "the watch to see the other manager's apply")
    # The cache holds every namespace's managed objects: other tests' namespaces, deleted after them, can only
    # leave it meanwhile.
    assert _held_in(shared, namespace) == here and shared.cached_objects() <= held
    assert shared.cached_bytes() < size + 1000
    quota = shared.get("ResourceQuota", namespace, QUOTA) or {}
    assert {m["manager"] for m in quota["metadata"]["managedFields"]} == {"reconciler"}


def test_closing_stops_every_watch_at_once(repo: Path, cached: dict[str, CachedClient]) -> None:
    gpu = cached["gpu"]
    _converge(repo, gpu)
    assert [t for t in threading.enumerate() if t.name.startswith("watch-gpu-")]
    began = time.monotonic()
    gpu.close()
    assert time.monotonic() - began < 2.0, "a quiet watch held its thread"
    assert not [t.name for t in threading.enumerate() if t.name.startswith("watch-gpu-")]
