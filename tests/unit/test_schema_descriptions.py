"""Every property of every schema says what it means, so an editor shows it on hover and completion.

Properties named inside a combinator's branch (anyOf, oneOf, allOf, if/then/else, not) only narrow a property the
enclosing schema declares and describes; the walk checks that they do, so a new property cannot hide there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SCHEMAS = Path(__file__).resolve().parents[2] / "reconciler" / "schemas"
COMBINATORS = ("anyOf", "oneOf", "allOf", "if", "then", "else", "not")


def _undescribed(node: Any, where: str, declared: frozenset[str] = frozenset()) -> Iterator[str]:
    """JSON pointers of properties without a description; of narrowing ones, those their schema does not declare."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _undescribed(item, f"{where}/{index}", declared)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties", {})
    for name, schema in properties.items():
        path = f"{where}/properties/{name}"
        if declared and name not in declared:
            yield f"{path} (narrowed in a combinator but not declared beside it)"
        elif not declared and isinstance(schema, dict) and not schema.get("description", "").strip():
            yield path
        yield from _undescribed(schema, path)
    own = frozenset(properties) or declared
    for key, value in node.items():
        if key != "properties":
            yield from _undescribed(value, f"{where}/{key}", own if key in COMBINATORS else declared)


@pytest.mark.parametrize("schema", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_property_has_a_description(schema: Path) -> None:
    missing = list(_undescribed(json.loads(schema.read_text()), ""))
    assert not missing, f"{schema.name}: add a description to " + ", ".join(missing)


def test_the_walk_finds_a_property_without_one_at_any_depth() -> None:
    schema = {"properties": {"spec": {"description": "d", "properties": {"quota": {"type": "object"}}}},
              "$defs": {"x": {"properties": {"y": {"description": ""}}}},
              "anyOf": [{"properties": {"spec": {"required": []}, "extra": {}}}]}
    assert list(_undescribed(schema, "")) == [
        "/properties/spec/properties/quota", "/$defs/x/properties/y",
        "/anyOf/0/properties/extra (narrowed in a combinator but not declared beside it)"]


def test_the_schemas_package_and_the_top_level_folder_are_the_same_files() -> None:
    top = SCHEMAS.parents[1] / "schemas"
    assert sorted(p.name for p in top.glob("*.json")) == sorted(p.name for p in SCHEMAS.glob("*.json"))
    for path in SCHEMAS.glob("*.json"):
        assert (top / path.name).read_text() == path.read_text()
