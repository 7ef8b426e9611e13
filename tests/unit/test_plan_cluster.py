"""The plan of a cluster is a value: every decision (change windows, removal policy, refusals) is taken when it is
built, from desired objects, live state and inventories alone, and nothing can change it afterwards."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import load_landscape
from reconciler.config.model import (
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    PLATFORM_LABEL,
    ChangeWindow,
    Landscape,
)
from reconciler.plan.changes import PlanOptions
from reconciler.plan.cluster import ClusterPlan, LiveState, plan_cluster
from reconciler.plan.inventory import Inventory, ObjectRef
from reconciler.render import render_target

SAMPLE = Path(__file__).resolve().parents[2] / "sample-repo"
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
# The removed environment's last object: ours by label, platform and its inventory.
LEFTOVER = ObjectRef("ConfigMap", "ml-old", "agent-config")


@pytest.fixture(scope="module")
def landscape() -> Landscape:
    sample = load_landscape(SAMPLE)
    window = ChangeWindow(environments=("dev",), days=("mon",), start="09:00", end="10:00", freezes=())
    return dataclasses.replace(sample, platform=dataclasses.replace(sample.platform, change_windows=(window,)))


def _leftover(platform: str) -> dict[str, Any]:
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE, ENVIRONMENT_LABEL: "old", PLATFORM_LABEL: platform}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": LEFTOVER.name, "namespace": LEFTOVER.namespace, "labels": labels}}


def _plan(landscape: Landscape, on_remove: str, **options: Any) -> ClusterPlan:
    targets = landscape.select("shared")
    desired = {t.key: render_target(t, landscape) for t in targets}
    platform = landscape.platform.name
    removed = Inventory("ml-old", "old", "abc", "then", on_remove=on_remove, objects=(LEFTOVER,), platform=platform)
    state = LiveState(live={LEFTOVER: _leftover(platform)}, inventories={"ml-old": removed},
                      system_namespace_exists=True)
    return plan_cluster(landscape, "shared", targets, desired, [], state, PlanOptions(**options), scoped=False)


def test_change_windows_and_removal_policy_are_decided_when_the_plan_is_built(landscape: Landscape) -> None:
    plan = _plan(landscape, "delete", now=TUESDAY_NOON)
    by_namespace = {t.namespace: t for t in plan.targets}
    assert by_namespace["ml-dev"].held.startswith("outside the change window of dev")
    assert not by_namespace["ml-staging"].held and by_namespace["ml-staging"].pending
    old = by_namespace["ml-old"]
    assert old.removed and [(c.action, c.ref) for c in old.changes] == [("delete", LEFTOVER)]
    assert {t.on_remove for t in plan.targets if not t.removed} == {"orphan"}  # the sample's environments' own
    assert [(c.action, c.ref) for c in _plan(landscape, "orphan").targets[-1].changes] == [("orphan", LEFTOVER)]
    assert not any(t.held for t in _plan(landscape, "delete", now=MONDAY_MORNING).targets)
    assert not any(t.held for t in _plan(landscape, "delete", now=TUESDAY_NOON, change_windows=False).targets)


def test_the_plan_is_a_value_that_nothing_changes_after_it_is_built(landscape: Landscape) -> None:
    plan = _plan(landscape, "delete", now=TUESDAY_NOON)
    assert plan == _plan(landscape, "delete", now=TUESDAY_NOON), "the same inputs make the same plan"
    target = plan.targets[0]
    assert isinstance(plan.targets, tuple) and isinstance(target.changes, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.held = ""  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.changes[0].reason = "edited"  # type: ignore[misc]
