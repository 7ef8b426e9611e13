"""The pure comparison of rendered objects: field paths, quantities, named lists, JSON inside ConfigMaps."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.changes import FieldDiff
from reconciler.plan.diff_model import ObjectChange, short_field
from reconciler.plan.inventory import ObjectRef
from reconciler.plan.object_diff import compare_objects, field_diffs


def diffs(before: Any, after: Any) -> list[str]:
    return [str(d) for d in field_diffs(before, after)]


def test_equal_values_and_equal_quantities_do_not_differ() -> None:
    assert diffs({"hard": {"memory": "1Gi", "cpu": "1"}}, {"hard": {"memory": "1024Mi", "cpu": "1000m"}}) == []
    assert diffs({"replicas": 2}, {"replicas": 2}) == []


def test_changed_added_and_removed_fields() -> None:
    before = {"spec": {"hard": {"requests.cpu": "8", "pods": "10"}}}
    after = {"spec": {"hard": {"requests.cpu": "4", "services": "5"}}}
    assert diffs(before, after) == [
        "spec.hard.requests.cpu: 8 -> 4",
        "spec.hard.pods: 10 -> (none)",
        "spec.hard.services: (none) -> 5",
    ]


def test_a_boolean_is_not_a_string() -> None:
    assert diffs({"readOnly": True}, {"readOnly": "true"}) == ["readOnly: true -> true"]


def test_named_lists_are_compared_by_name() -> None:
    before = {"containers": [{"name": "agent", "image": "a:1"}, {"name": "sidecar", "image": "s:1"}]}
    after = {"containers": [{"name": "sidecar", "image": "s:1"}, {"name": "agent", "image": "a:2"},
                            {"name": "new", "image": "n:1"}]}
    assert diffs(before, after) == [
        "containers[agent].image: a:1 -> a:2",
        'containers[new]: (none) -> {"image": "n:1", "name": "new"}',
    ]


def test_other_lists_by_position_or_as_a_whole() -> None:
    assert diffs({"verbs": ["get", "list"]}, {"verbs": ["get", "watch"]}) == ["verbs[1]: list -> watch"]
    assert diffs({"verbs": ["get"]}, {"verbs": ["get", "list"]}) == ['verbs: ["get"] -> ["get", "list"]']


def _configmap(queues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": "ml-agent-config", "namespace": "ml-dev"},
            "data": {"agent.json": json.dumps({"queues": queues}), "note.txt": "x"}}


def test_json_documents_in_a_configmap_are_compared_field_by_field() -> None:
    before = _configmap([{"name": "default", "concurrency": 2}])
    after = _configmap([{"name": "default", "concurrency": 4}])
    [change] = compare_objects([before], [after])
    assert change.action == "changed"
    assert [str(d) for d in change.fields] == ["data.agent.json.queues[default].concurrency: 2 -> 4"]


def test_objects_in_apply_order_with_their_actions() -> None:
    namespace = {"kind": "Namespace", "metadata": {"name": "ml-dev"}}
    quota = {"kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "ml-dev"}, "spec": {"hard": {}}}
    binding = {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "ml-dev"}}
    changes = compare_objects([quota, namespace], [namespace, binding])
    assert [(c.action, c.ref.kind) for c in changes] == [("added", "RoleBinding"), ("removed", "ResourceQuota")]


def test_one_line_descriptions() -> None:
    quota = ObjectChange("changed", ObjectRef("ResourceQuota", "ml-prod", "environment-quota"),
                         (FieldDiff("spec.hard.requests.nvidia.com/gpu", "16", "8"),))
    assert quota.describe() == "ResourceQuota requests.nvidia.com/gpu 16 -> 8"
    many = ObjectChange("changed", ObjectRef("Deployment", "ml-prod", "ml-agent"), tuple(
        FieldDiff(f"spec.template.spec.containers[agent].f{i}", i, i + 1) for i in range(4)))
    assert many.describe() == "Deployment containers[agent].f0 0 -> 1, containers[agent].f1 1 -> 2, +2 more"
    assert ObjectChange("removed", ObjectRef("Role", "ml-prod", "ml-agent")).describe() == "-Role ml-agent"
    assert short_field(FieldDiff("data.agent.json.image", "a", "b")) == "agent.json.image a -> b"
