"""The pure planner: what counts as a change, what may be deleted, what is refused."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load_landscape
from reconciler.config.model import Landscape, Target
from reconciler.plan import inventory as inv
from reconciler.plan.changes import ORPHANED_ANNOTATION, PlanOptions, object_diffs, plan_target
from reconciler.plan.inventory import Inventory, ObjectRef
from reconciler.plan.removal import plan_removed
from reconciler.render import render_target

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
OPTIONS = PlanOptions(allow_mass_delete=False, mass_delete_percent=25)


@pytest.fixture(scope="module")
def landscape() -> Landscape:
    return load_landscape(SAMPLE)


@pytest.fixture
def dev(landscape: Landscape) -> Target:
    return landscape.select(environment="dev")[0]


def _live(objects: list[dict[str, Any]]) -> dict[ObjectRef, dict[str, Any]]:
    """What the API server would return: our objects plus fields it defaults."""
    live = {}
    for obj in copy.deepcopy(objects):
        obj["metadata"]["uid"] = "0000"
        obj["metadata"]["resourceVersion"] = "1"
        if obj["kind"] == "Deployment":
            obj["spec"]["strategy"] = {"type": "RollingUpdate"}
            obj["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
        live[ObjectRef.of(obj)] = obj
    return live


def _inventory(objects: list[dict[str, Any]], **extra: Any) -> Inventory:
    extra.setdefault("platform", "ml-platform")
    return Inventory("ml-dev", "dev", "abc", "now", objects=tuple(ObjectRef.of(o) for o in objects), **extra)


def test_quantities_are_compared_by_value_and_defaults_are_not_drift() -> None:
    desired = {"spec": {"hard": {"requests.memory": "1Gi", "requests.cpu": "1", "pods": "10"}}}
    live = {"spec": {"hard": {"requests.memory": "1024Mi", "requests.cpu": "1000m", "pods": "10"},
                     "scopes": None}, "status": {"used": {}}}
    assert object_diffs(desired, live) == []
    live["spec"]["hard"]["requests.cpu"] = "2"
    assert [str(d) for d in object_diffs(desired, live)] == ["spec.hard.requests.cpu: 2 -> 1"]


def test_a_field_we_applied_before_and_no_longer_want_is_a_change() -> None:
    desired = {"spec": {"hard": {"pods": "10"}}}
    live = {"spec": {"hard": {"pods": "10", "requests.nvidia.com/gpu": "4"}},
            "metadata": {"managedFields": [{"manager": "reconciler", "operation": "Apply", "fieldsV1": {
                "f:spec": {"f:hard": {"f:pods": {}, "f:requests.nvidia.com/gpu": {}}}}}]}}
    assert [d.path for d in object_diffs(desired, live)] == ["spec.hard.requests.nvidia.com/gpu"]
    # The same field owned by another manager is not ours to remove.
    live["metadata"]["managedFields"][0]["manager"] = "kubectl"
    assert object_diffs(desired, live) == []


def test_everything_is_created_on_an_empty_cluster(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_target(dev, desired, {}, None, OPTIONS)
    assert [c.action for c in result.changes] == ["create"] * len(desired)
    assert result.pending and not result.refusals


def test_a_converged_target_is_unchanged(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_target(dev, desired, _live(desired), _inventory(desired), OPTIONS)
    assert {c.action for c in result.changes} == {"unchanged"}
    assert not result.pending


def test_drift_is_an_update_with_the_field(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    live[ObjectRef("ResourceQuota", "ml-dev", "environment-quota")]["spec"]["hard"]["pods"] = "5"
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    (update,) = result.by_action("update")
    assert update.ref.kind == "ResourceQuota"
    assert [str(d) for d in update.diffs] == ["spec.hard.pods: 5 -> 100"]


def test_an_object_that_is_not_ours_is_a_conflict_unless_adopted(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    ref = ObjectRef("ConfigMap", "ml-dev", "ml-agent-config")
    del live[ref]["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    assert [c.ref for c in result.by_action("conflict")] == [ref]
    adopting = dataclasses.replace(dev, environment=_adopting(dev))
    result = plan_target(adopting, desired, live, _inventory(desired), OPTIONS)
    assert not result.by_action("conflict")


def _adopting(target: Target) -> Any:
    return dataclasses.replace(target.environment, adopt=True)


def test_only_objects_in_the_inventory_and_labelled_ours_are_deleted(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    stale = copy.deepcopy(next(o for o in desired if o["metadata"]["name"] == "access-team-vision-edit"))
    stale["metadata"]["name"] = "access-team-old-view"
    unlabelled = copy.deepcopy(stale)
    unlabelled["metadata"]["name"] = "access-team-theirs-view"
    del unlabelled["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    not_in_inventory = copy.deepcopy(stale)
    not_in_inventory["metadata"]["name"] = "access-team-copied-view"
    live = _live([*desired, stale, unlabelled, not_in_inventory])
    result = plan_target(dev, desired, live, _inventory([*desired, stale, unlabelled]), OPTIONS)
    assert [str(c.ref) for c in result.by_action("delete")] == ["RoleBinding/ml-dev/access-team-old-view"]


def test_a_namespace_is_never_deleted_implicitly(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    moved = copy.deepcopy(desired)
    other = next(o for o in moved if o["kind"] == "Namespace")
    other["metadata"]["name"] = "ml-dev-old"
    result = plan_target(dev, desired, _live([*desired, other]), _inventory([*desired, other]), OPTIONS)
    assert not result.by_action("delete")
    assert [str(c.ref) for c in result.by_action("keep")] == ["Namespace/ml-dev-old"]


def test_mass_deletion_is_refused_unless_allowed(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    kept = [o for o in desired if o["kind"] in ("Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy")]
    result = plan_target(dev, kept, _live(desired), _inventory(desired), OPTIONS)
    assert len(result.by_action("delete")) == len(desired) - len(kept)
    assert result.refusals and "--allow-mass-delete" in result.refusals[0]
    allowed = plan_target(dev, kept, _live(desired), _inventory(desired), PlanOptions(True, 25))
    assert not allowed.refusals


def test_a_removed_environment_is_orphaned_by_default(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_removed(_inventory(desired), "shared", _live(desired), OPTIONS)
    assert {c.action for c in result.changes} == {"orphan"}
    assert result.removed and not result.refusals


def test_a_removed_environment_with_on_remove_delete_deletes_in_reverse_order(landscape: Landscape,
                                                                              dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_removed(_inventory(desired, on_remove="delete"), "shared", _live(desired),
                          PlanOptions(True, 25))
    kinds = [c.ref.kind for c in result.by_action("delete")]
    assert kinds[0] == "Deployment" and kinds[-1] == "Namespace"


def test_a_removed_protected_environment_is_refused(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_removed(_inventory(desired, protected=True, on_remove="delete"), "shared", _live(desired),
                          PlanOptions(True, 25))
    assert result.refusals and "protected" in result.refusals[0]
    assert not result.by_action("delete", "orphan")


def test_quota_below_live_usage_is_a_warning(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    live[ObjectRef("ResourceQuota", "ml-dev", "environment-quota")]["status"] = {"used": {"pods": "150"}}
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    assert any("pods = 100 is below current usage 150" in w for w in result.warnings)


def test_inventory_round_trips_through_its_configmap() -> None:
    stored = Inventory("ml-dev", "dev", "abc123", "2026-01-01T00:00:00Z", protected=True, on_remove="delete",
                       objects=(ObjectRef("Namespace", "", "ml-dev"), ObjectRef("ConfigMap", "ml-dev", "x")),
                       platform="p")
    configmap = inv.to_configmap(stored)
    assert configmap["metadata"]["namespace"] == inv.SYSTEM_NAMESPACE
    loaded = inv.from_configmap(configmap)
    assert loaded is not None
    assert loaded.objects == tuple(sorted(stored.objects)) and loaded.protected and loaded.platform == "p"
    assert inv.from_configmap({"data": {inv.DATA_KEY: "not json"}}) is None


def test_on_remove_delete_is_the_allowance_the_mass_deletion_guard_asks_for(landscape: Landscape,
                                                                            dev: Target) -> None:
    desired = render_target(dev, landscape)
    result = plan_removed(_inventory(desired, on_remove="delete"), "shared", _live(desired), OPTIONS)
    assert not result.refusals, "deleting all of an environment removed with onRemove: delete is what was asked"
    assert len(result.by_action("delete")) == len(desired)
    kept = [obj for obj in desired if obj["kind"] in ("Namespace", "ServiceAccount")]
    still_guarded = plan_target(dev, kept, _live(desired), _inventory(desired), OPTIONS)
    assert still_guarded.refusals, "an environment that stays is still guarded"


def test_an_environment_that_comes_back_reclaims_its_orphans_and_drops_the_annotation(landscape: Landscape,
                                                                                      dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    for obj in live.values():  # a removal with onRemove: orphan annotates everything it leaves, the namespace too
        obj["metadata"].setdefault("annotations", {})[ORPHANED_ANNOTATION] = "environment dev removed"
    # Its inventory went with the removal: the annotation is what lets the same environment reclaim them.
    result = plan_target(dev, desired, live, None, OPTIONS)
    assert not result.refusals and not result.by_action("conflict")
    changed = result.by_action("update")
    assert {c.ref for c in changed} == set(live)
    assert {str(d) for c in changed for d in c.diffs} == {
        f"metadata.annotations.{ORPHANED_ANNOTATION}: environment dev removed -> (none)"}


def test_an_object_of_another_environment_is_not_reclaimed_by_its_orphan_annotation(landscape: Landscape,
                                                                                    dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    for obj in live.values():
        obj["metadata"]["labels"]["reconciler/environment"] = "staging"
        obj["metadata"].setdefault("annotations", {})[ORPHANED_ANNOTATION] = "environment staging removed"
    result = plan_target(dev, desired, live, None, OPTIONS)
    assert not result.by_action("update", "create")
