"""A listed object keeps, of its managedFields, only the reconciler's own Apply entry: what planning reads. Cutting
the rest must not hide a field the reconciler applied before and no longer wants, nor invent one."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.config.model import FIELD_MANAGER
from reconciler.kube.live import slim
from reconciler.plan.compare import object_diffs

OURS = {"f:metadata": {"f:labels": {"f:team": {}, "f:tier": {}}}, "f:data": {"f:queues": {}, "f:old": {}}}
THEIRS = {"f:metadata": {"f:annotations": {"f:note": {}}}, "f:data": {"f:extra": {}}}


def _listed() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "agent", "namespace": "ml-dev", "labels": {"team": "a", "tier": "b"},
                     "annotations": {"note": "by hand"},
                     "managedFields": [
                         {"manager": FIELD_MANAGER, "operation": "Apply", "apiVersion": "v1",
                          "time": "2026-12-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": OURS},
                         {"manager": FIELD_MANAGER, "operation": "Update", "fieldsV1": {"f:data": {"f:x": {}}}},
                         {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": THEIRS},
                     ]},
        "data": {"queues": "default", "old": "gone from git", "extra": "theirs"},
    }


def test_only_the_reconcilers_apply_entry_is_kept() -> None:
    listed = slim(_listed())
    assert listed["metadata"]["managedFields"] == [
        {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": OURS}]
    assert listed["metadata"]["annotations"] == {"note": "by hand"} and listed["data"]["extra"] == "theirs"


def test_the_plan_of_a_slimmed_object_is_the_plan_of_the_object() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "agent", "namespace": "ml-dev", "labels": {"team": "a", "tier": "b"}},
               "data": {"queues": "default"}}
    full = _listed()
    assert [str(d) for d in object_diffs(desired, slim(copy.deepcopy(full)))] == \
        [str(d) for d in object_diffs(desired, full)] == ["data.old: gone from git -> (none)"]


def test_an_object_nobody_applied_to_loses_its_managed_fields_and_is_still_compared() -> None:
    listed = _listed()
    listed["metadata"]["managedFields"] = listed["metadata"]["managedFields"][2:]
    assert "managedFields" not in slim(listed)["metadata"]
    assert object_diffs({"data": {"queues": "default"}}, listed) == []
