"""The watch store: what it keeps of each object, and which changes count as someone else's (drift)."""

from __future__ import annotations

from typing import Any

from reconciler.kube.cache import _covers, _key_of_path, _selected
from reconciler.kube.store import Key, Store, trimmed
from reconciler.kube.watch import Query


def _quota(version: int, gpu: str = "8", used: str = "0", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "q", "namespace": "ml", "resourceVersion": str(version), **metadata},
            "spec": {"hard": {"requests.nvidia.com/gpu": gpu}}, "status": {"used": {"requests.nvidia.com/gpu": used}}}


def _store() -> tuple[Store, list[Key]]:
    told: list[Key] = []
    return Store(told.append), told


def test_an_edit_by_someone_else_is_told_and_a_status_update_is_not() -> None:
    store, told = _store()
    store.replace([_quota(1)])
    store.event("MODIFIED", _quota(2, used="1"))  # the quota controller counting usage
    assert told == [] and store.get(("ml", "q"))["status"]["used"] == {"requests.nvidia.com/gpu": "1"}
    store.event("MODIFIED", _quota(3, gpu="1"))
    assert told == [("ml", "q")]


def test_the_echo_of_the_reconcilers_own_write_is_not_drift_and_never_goes_back() -> None:
    store, told = _store()
    store.replace([_quota(1, gpu="1")])
    store.observe(_quota(5))  # the apply's response
    store.event("MODIFIED", _quota(5))  # its watch event, later
    store.event("MODIFIED", _quota(4, gpu="1"))  # an older event arriving late
    assert told == [] and store.get(("ml", "q"))["spec"]["hard"]["requests.nvidia.com/gpu"] == "8"


def test_a_deletion_by_someone_else_is_told_and_ours_is_not() -> None:
    store, told = _store()
    store.replace([_quota(1), {**_quota(1), "metadata": {"name": "other", "namespace": "ml", "resourceVersion": "1"}}])
    store.forget(("ml", "q"), 1)
    store.event("MODIFIED", _quota(1))  # stale: from before our deletion
    store.event("DELETED", _quota(2))
    assert told == [] and store.get(("ml", "q")) is None
    store.event("DELETED", {**_quota(3), "metadata": {"name": "other", "namespace": "ml", "resourceVersion": "3"}})
    assert told == [("ml", "other")] and len(store) == 0


def test_the_echo_of_a_write_that_arrives_before_its_response_is_not_drift() -> None:
    store, told = _store()
    store.replace([_quota(1, gpu="1")])
    store.writing(("ml", "q"))
    store.event("MODIFIED", _quota(5))  # the watch is faster than the apply's response
    store.observe(_quota(5))
    store.written(("ml", "q"), 5)
    store.writing(("ml", "q"))
    store.event("DELETED", _quota(6))  # the same for a deletion
    store.forget(("ml", "q"), 5)
    store.written(("ml", "q"), 5, deleted=True)
    assert told == [] and store.get(("ml", "q")) is None


def test_a_change_the_write_does_not_account_for_is_told_once_it_is_done() -> None:
    store, told = _store()
    store.replace([_quota(1, gpu="1")])
    store.writing(("ml", "q"))
    store.event("MODIFIED", _quota(7, gpu="2"))  # someone else's edit, after the write
    assert told == []
    store.written(("ml", "q"), 5)
    assert told == [("ml", "q")]
    store.writing(("ml", "q"))
    store.event("MODIFIED", _quota(8, gpu="3"))
    store.written(("ml", "q"), None)  # the write failed: whatever was seen is someone else's
    store.writing(("ml", "q"))
    store.event("MODIFIED", _quota(9, gpu="4"))  # not a deletion, while the write deletes
    store.written(("ml", "q"), 9, deleted=True)
    assert told == [("ml", "q")] * 3
    store.event("MODIFIED", _quota(10, gpu="5"))  # no write in flight any more: told at once
    assert len(told) == 4


def test_nothing_of_a_write_is_kept_once_it_is_done() -> None:
    store, _ = _store()
    store.replace([_quota(1)])
    for version in range(2, 200):
        store.writing(("ml", "q"))
        store.writing(("ml", "q"))  # two writes of one object at once
        store.event("MODIFIED", _quota(version, gpu=str(version)))
        store.written(("ml", "q"), version)
        store.written(("ml", "q"), None)
    assert store._writing == {} and store._unheard == {}


def test_a_relist_tells_what_changed_while_the_watch_was_away() -> None:
    store, told = _store()
    store.replace([_quota(1)])
    store.replace([_quota(9, used="2")])
    assert told == []
    store.replace([])
    assert told == [("ml", "q")]


def test_a_reader_cannot_change_what_the_next_reader_sees() -> None:
    store, _ = _store()
    store.replace([_quota(1)])
    store.items()[0]["spec"]["hard"]["requests.nvidia.com/gpu"] = "0"
    assert store.get(("ml", "q"))["spec"]["hard"]["requests.nvidia.com/gpu"] == "8"


def test_only_the_reconcilers_own_apply_entry_of_managed_fields_is_kept() -> None:
    entries = [{"manager": "reconciler", "operation": "Apply", "fieldsV1": {"f:spec": {}}},
               {"manager": "reconciler", "operation": "Update", "fieldsV1": {}},
               {"manager": "kube-controller-manager", "operation": "Update", "fieldsV1": {"f:status": {}}}]
    kept = trimmed(_quota(1, managedFields=entries))
    assert kept["metadata"]["managedFields"] == entries[:1]
    assert "managedFields" not in trimmed(_quota(1, managedFields=entries[2:]))["metadata"]


def test_a_write_is_recorded_only_by_the_watches_whose_selector_it_matches() -> None:
    ours = Query("/api/v1/resourcequotas", "ResourceQuota", "v1", "app.kubernetes.io/managed-by=reconciler")
    named = Query("/apis/rbac.authorization.k8s.io/v1/clusterroles", "ClusterRole", "rbac.authorization.k8s.io/v1",
                  field_selector="metadata.name=view")
    labelled = _quota(1, labels={"app.kubernetes.io/managed-by": "reconciler"})
    assert _selected(ours, labelled) and not _selected(ours, _quota(1))
    assert _selected(named, {"metadata": {"name": "view"}}) and not _selected(named, {"metadata": {"name": "edit"}})
    path = "/api/v1/namespaces/ml/resourcequotas/q"
    assert _covers(ours.path, path) and _covers("/api/v1/namespaces/ml/resourcequotas", path)
    assert not _covers("/api/v1/namespaces/other/resourcequotas", path) and not _covers("/api/v1/configmaps", path)
    assert _key_of_path(path) == ("ml", "q") and _key_of_path(f"{named.path}/view") == ("", "view")
    assert _key_of_path("/api/v1/namespaces/ml") == ("", "ml")  # a Namespace is cluster-scoped


def _deployment(version: int, image: str, revision: str | None) -> dict[str, Any]:
    annotations = {"deployment.kubernetes.io/revision": revision} if revision else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "ml-agent", "namespace": "ml", "resourceVersion": str(version),
                         "annotations": {"team": "vision", **annotations}},
            "spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}}


def test_the_deployment_controllers_revision_counter_is_not_drift_and_other_annotations_are() -> None:
    store, told = _store()
    store.replace([_deployment(1, "agent:1", None)])
    store.event("MODIFIED", _deployment(2, "agent:1", "1"))  # set by the deployment controller after our write
    store.event("MODIFIED", _deployment(3, "agent:1", "2"))
    held = store.get(("ml", "ml-agent"))
    assert told == [] and held["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    store.event("MODIFIED", _deployment(4, "agent:2", "2"))  # someone else's template edit
    changed = _deployment(5, "agent:2", "2")
    changed["metadata"]["annotations"]["team"] = "research"
    store.event("MODIFIED", changed)
    assert told == [("ml", "ml-agent"), ("ml", "ml-agent")]
