"""The quick containment verdict a reconcile takes for every unchanged object agrees with the field-by-field diff."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.config.model import FIELD_MANAGER
from reconciler.plan.compare import contained, contained_diffs, removed_fields

CASES: list[tuple[Any, Any]] = [
    ({"a": "1Gi"}, {"a": "1024Mi", "extra": 1}),  # quantities normalised, extra live fields fine
    ({"a": "1"}, {"a": "1000m"}),
    ({"a": "2"}, {"a": "1"}),
    ({"a": True}, {"a": 1}),  # a bool is not a number, though Python says True == 1
    ({"a": 1}, {"a": True}),
    ({"a": None}, {"a": None}),
    ({"a": None}, {}),  # a field live does not have at all
    ({"a": {"b": 1}}, {"a": "x"}),
    ({"a": {"b": 1}}, {}),
    ({"a": [1, 2]}, {"a": [1, 2]}),
    ({"a": [1, 2]}, {"a": [1]}),
    ({"a": [{"name": "x", "v": "1Gi"}]}, {"a": [{"name": "x", "v": "1024Mi", "d": 0}]}),
    ({"a": [{"name": "x", "v": "1"}]}, {"a": [{"name": "x", "v": "2"}]}),
    ({"a": []}, {"a": None}),
    ({"a": "text"}, {"a": "other"}),
    ({"a": 1.5}, {"a": "1500m"}),
]


@pytest.mark.parametrize(("desired", "live"), CASES)
def test_the_quick_verdict_is_the_diffs_verdict(desired: Any, live: Any) -> None:
    assert contained(desired, live) == (not list(contained_diffs(desired, live)))


def test_a_changed_value_deep_in_an_unchanged_object_is_still_found() -> None:
    desired = {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "a:2"}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": "a:1", "tty": False}]}}}}
    assert not contained(desired, live)
    assert [d.path for d in contained_diffs(desired, live)] == ["spec.template.spec.containers"]


def _reference_removed(fields: dict[str, Any], desired: Any, live: Any) -> list[str]:
    """The definition: every owned leaf path (a list's items count as the list) that live has and desired lacks."""
    owned: set[tuple[str, ...]] = set()

    def walk(node: dict[str, Any], prefix: tuple[str, ...]) -> None:
        for key, sub in node.items():
            if key == ".":
                continue
            if not key.startswith("f:"):
                owned.add(prefix)
            elif isinstance(sub, dict) and any(k != "." for k in sub):
                walk(sub, (*prefix, key[2:]))
            else:
                owned.add((*prefix, key[2:]))

    def has(obj: Any, path: tuple[str, ...]) -> bool:
        for step in path:
            if not isinstance(obj, dict) or step not in obj:
                return False
            obj = obj[step]
        return True

    walk(fields, ())
    return [".".join(p) for p in sorted(owned) if p and not has(desired, p) and has(live, p)]


FIELDS = {"f:metadata": {"f:labels": {".": {}, "f:team": {}, "f:tier": {}}},
          "f:spec": {"f:hard": {"f:pods": {}, "f:cpu": {}},
                     "f:containers": {"k:{\"name\":\"agent\"}": {".": {}, "f:image": {}}},
                     "f:selector": {"f:app": {}}}}
LIVE = {"metadata": {"labels": {"team": "a", "tier": "b"}},
        "spec": {"hard": {"pods": "1", "cpu": "2"}, "containers": [{"name": "agent", "image": "x"}],
                 "selector": "not a map any more"}}


@pytest.mark.parametrize("desired", [
    LIVE,
    {"metadata": {"labels": {"team": "a"}}, "spec": {"hard": {"pods": "1"}, "containers": []}},
    {"metadata": {}, "spec": {}},
    {},
    {"metadata": {"labels": ["a list now"]}, "spec": {"hard": "text", "selector": {"app": "x"}}},
])
def test_removed_fields_are_the_owned_fields_live_has_and_desired_lacks(desired: dict[str, Any]) -> None:
    live = {**LIVE, "metadata": {**LIVE["metadata"], "managedFields": [
        {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": FIELDS},
        {"manager": "someone-else", "operation": "Apply", "fieldsV1": {"f:spec": {"f:other": {}}}}]}}
    assert [d.path for d in removed_fields(desired, live)] == _reference_removed(FIELDS, desired, live)
