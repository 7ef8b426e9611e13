"""Ownership in planning: ours is our label and our inventory and the same environment and Platform.

Anything else with a wanted name is a conflict, left alone; a namespace that is not this environment's refuses the
whole target; ``adopt`` and ``takeOver`` are the explicit steps that change this, and the plan shows them.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load_landscape
from reconciler.config.model import ENVIRONMENT_LABEL, PLATFORM_LABEL, Landscape, Owner, Target
from reconciler.controller import events
from reconciler.converge.results import ClusterResult
from reconciler.plan.changes import PlanOptions, plan_target
from reconciler.plan.inventory import SYSTEM_NAMESPACE, Inventory, ObjectRef
from reconciler.plan.removal import plan_removed
from reconciler.render import render_target

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
OPTIONS = PlanOptions(allow_mass_delete=False, mass_delete_percent=25)
NAMESPACE = ObjectRef("Namespace", "", "ml-dev")
QUOTA = ObjectRef("ResourceQuota", "ml-dev", "environment-quota")


@pytest.fixture(scope="module")
def landscape() -> Landscape:
    return load_landscape(SAMPLE)


@pytest.fixture
def dev(landscape: Landscape) -> Target:
    return landscape.select(environment="dev")[0]


def _live(objects: list[dict[str, Any]], **labels: str) -> dict[ObjectRef, dict[str, Any]]:
    live = {}
    for obj in copy.deepcopy(objects):
        obj["metadata"]["labels"].update(labels)
        live[ObjectRef.of(obj)] = obj
    return live


def _inventory(objects: list[dict[str, Any]], environment: str = "dev", platform: str = "ml-platform") -> Inventory:
    return Inventory("ml-dev", environment, "abc", "now", objects=tuple(ObjectRef.of(o) for o in objects),
                     platform=platform)


def _with(target: Target, **settings: Any) -> Target:
    return dataclasses.replace(target, environment=dataclasses.replace(target.environment, **settings))


def test_an_object_of_another_environment_is_a_conflict_naming_its_owner(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    live[QUOTA]["metadata"]["labels"][ENVIRONMENT_LABEL] = "staging"
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    (conflict,) = result.by_action("conflict")
    assert conflict.ref == QUOTA
    assert conflict.reason == (
        "belongs to environment 'staging' of Platform 'ml-platform'; it is left alone. If environment 'dev' is meant "
        "to take it over (a rename or a move), add `takeOver: [{environment: staging}]` to it")
    assert {c.action for c in result.changes} == {"unchanged", "conflict"}


def test_an_object_of_another_platform_is_a_conflict(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    live[QUOTA]["metadata"]["labels"][PLATFORM_LABEL] = "research-platform"
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    (conflict,) = result.by_action("conflict")
    assert conflict.reason.startswith("belongs to environment 'dev' of Platform 'research-platform'; it is left "
                                      "alone. If environment 'dev' is meant to take it over (a rename or a move), add "
                                      "`takeOver: [{environment: dev, platform: research-platform}]`")


def test_an_object_labelled_ours_in_no_inventory_is_a_conflict_unless_adopted(landscape: Landscape,
                                                                             dev: Target) -> None:
    desired = render_target(dev, landscape)
    listed = [o for o in desired if ObjectRef.of(o) != QUOTA]
    result = plan_target(dev, desired, _live(desired), _inventory(listed), OPTIONS)
    (conflict,) = result.by_action("conflict")
    assert conflict.ref == QUOTA and "is in no inventory of shared/ml-dev" in conflict.reason
    adopted = plan_target(_with(dev, adopt=True), desired, _live(desired), _inventory(listed), OPTIONS)
    assert not adopted.by_action("conflict")


def test_objects_of_an_existing_installation_without_the_platform_label_converge(landscape: Landscape,
                                                                                dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired)
    for obj in live.values():
        del obj["metadata"]["labels"][PLATFORM_LABEL]
    result = plan_target(dev, desired, live, _inventory(desired), OPTIONS)
    assert {c.action for c in result.changes} == {"update"} and not result.refusals
    assert {str(d) for c in result.changes for d in c.diffs} == {
        "metadata.labels.reconciler/platform: (none) -> ml-platform"}


def test_a_namespace_nobody_manages_refuses_the_whole_target(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    theirs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-dev", "labels": {"team": "x"}}}
    result = plan_target(dev, desired, {NAMESPACE: theirs}, None, OPTIONS)
    assert [(c.action, c.ref) for c in result.changes] == [("conflict", NAMESPACE)]
    assert result.foreign_namespace and not result.pending
    assert result.refusals == (
        "namespace ml-dev on cluster shared exists and is not managed by the reconciler (managed-by: nobody); it "
        "is left alone. Delete or rename it, or set `adopt: true` on the environment to take it over. Nothing of "
        "environment dev is written into it (no binding, quota, policy, agent or inventory entry)",)
    adopted = plan_target(_with(dev, adopt=True), desired, {NAMESPACE: theirs}, None, OPTIONS)
    assert not adopted.refusals and adopted.by_action("update")[0].ref == NAMESPACE
    assert len(adopted.by_action("create")) == len(desired) - 1


def test_a_namespace_of_another_environment_is_refused_and_take_over_moves_it(landscape: Landscape,
                                                                             dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired, **{ENVIRONMENT_LABEL: "development"})
    agent = live[ObjectRef("Deployment", "ml-dev", "ml-agent")]["spec"]
    agent["selector"]["matchLabels"][ENVIRONMENT_LABEL] = "development"
    previous = _inventory(desired, environment="development")
    refused = plan_target(dev, desired, live, previous, OPTIONS)
    assert [c.action for c in refused.changes] == ["conflict"] and refused.refusals[0].startswith(
        "namespace ml-dev on cluster shared is recorded in the inventory of environment 'development' of Platform "
        "'ml-platform'. If environment 'dev' is meant to take it over")
    moving = _with(dev, take_over=(Owner("development", "ml-platform"),))
    moved = plan_target(moving, desired, live, previous, OPTIONS)
    assert not moved.refusals and {c.action for c in moved.changes} == {"update"}
    assert all(c.reason.startswith("taken over from environment 'development' of Platform 'ml-platform' "
                                   "(takeOver)") for c in moved.changes)
    assert [c.ref.kind for c in moved.changes if c.replace] == ["Deployment"]  # its selector names the environment
    assert moved.warnings == (f"takes over {len(desired)} object(s) of environment 'development' of Platform "
                              "'ml-platform' (takeOver): their labels change to environment dev; remove takeOver "
                              "from the environment once this is applied",)


def test_a_namespace_labelled_by_another_platform_is_refused(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    live = _live(desired[:1], **{PLATFORM_LABEL: "research-platform"})
    result = plan_target(dev, desired, live, None, OPTIONS)
    assert result.foreign_namespace and "belongs to environment 'dev' of Platform 'research-platform'" in (
        result.refusals[0])


def test_objects_of_another_environment_are_never_pruned(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    stale = copy.deepcopy(next(o for o in desired if o["kind"] == "RoleBinding"))
    stale["metadata"]["name"] = "access-team-old-view"
    foreign = copy.deepcopy(stale)
    foreign["metadata"]["name"] = "access-team-theirs-view"
    live = _live([*desired, stale])
    live.update(_live([foreign], **{ENVIRONMENT_LABEL: "staging"}))
    result = plan_target(dev, desired, live, _inventory([*desired, stale, foreign]), PlanOptions(True, 25))
    assert [str(c.ref) for c in result.by_action("delete")] == ["RoleBinding/ml-dev/access-team-old-view"]
    removed = plan_removed(_inventory([*desired, foreign]), "shared", live, PlanOptions(True, 25))
    assert ObjectRef.of(foreign) not in {c.ref for c in removed.changes}


def test_a_refused_foreign_namespace_gets_no_event_either(landscape: Landscape, dev: Target) -> None:
    desired = render_target(dev, landscape)
    theirs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ml-dev"}}
    result = ClusterResult("shared", targets=[plan_target(dev, desired, {NAMESPACE: theirs}, None, OPTIONS)])
    (notice,) = events.notices(result, "0123456789abcdef", drift=False)
    assert notice.namespace == SYSTEM_NAMESPACE and notice.warning
    assert notice.message.startswith("revision 0123456789ab not applied to shared/ml-dev: namespace ml-dev on "
                                     "cluster shared exists and is not managed by the reconciler")
