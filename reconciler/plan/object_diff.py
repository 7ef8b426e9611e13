"""Field-by-field comparison of rendered objects, with Kubernetes quantities normalised and JSON in ConfigMaps
decoded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.config.quantity import quantities_equal
from reconciler.plan.compare import FieldDiff
from reconciler.plan.diff_model import ObjectChange
from reconciler.plan.inventory import ObjectRef
from reconciler.render.objects import APPLY_ORDER, Manifest

_ABSENT: Any = None


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, bool) or isinstance(after, bool):
        return type(before) is type(after) and before == after
    return quantities_equal(before, after)


def _named(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings with unique names, keyed by name (containers, queues, volumes), else None."""
    if not all(isinstance(item, dict) and isinstance(item.get("name"), str) for item in items):
        return None
    keyed = {item["name"]: item for item in items}
    return keyed if len(keyed) == len(items) else None


def field_diffs(before: Any, after: Any, path: str = "") -> Iterator[FieldDiff]:
    """Every field that differs between two versions of an object, as precise as the structure allows."""
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            yield from field_diffs(before.get(key, _ABSENT), after.get(key, _ABSENT), f"{path}.{key}" if path else key)
        return
    if isinstance(before, list) and isinstance(after, list):
        old, new = _named(before), _named(after)
        if old is not None and new is not None and (before or after):
            for name in [*old, *(n for n in new if n not in old)]:
                yield from field_diffs(old.get(name, _ABSENT), new.get(name, _ABSENT), f"{path}[{name}]")
            return
        if len(before) == len(after):
            for index, (was, now) in enumerate(zip(before, after, strict=True)):
                yield from field_diffs(was, now, f"{path}[{index}]")
            return
    if not _same(before, after):
        yield FieldDiff(path, before, after)


def _expanded(obj: Manifest) -> Manifest:
    """A ConfigMap with its JSON documents decoded, so a change inside them is shown field by field."""
    if obj.get("kind") != "ConfigMap" or not isinstance(obj.get("data"), dict):
        return obj
    data: dict[str, Any] = {}
    for key, value in obj["data"].items():
        try:
            # Files named *.json, and the agent's JSON settings (POLYAXON_AGENT_DEFAULT_SCHEDULING, ...).
            opened = key.endswith(".json") or (isinstance(value, str) and value[:1] in ("{", "["))
            data[key] = json.loads(value) if opened else value
        except (TypeError, ValueError):
            data[key] = value
    return {**obj, "data": data}


def _order(ref: ObjectRef) -> tuple[int, str]:
    return (APPLY_ORDER.index(ref.kind) if ref.kind in APPLY_ORDER else len(APPLY_ORDER)), ref.name


def compare_objects(before: list[Manifest], after: list[Manifest]) -> list[ObjectChange]:
    old = {ObjectRef.of(obj): obj for obj in before}
    new = {ObjectRef.of(obj): obj for obj in after}
    changes = []
    for ref in sorted(old.keys() | new.keys(), key=_order):
        if ref not in old:
            changes.append(ObjectChange("added", ref))
        elif ref not in new:
            changes.append(ObjectChange("removed", ref))
        else:
            fields = tuple(field_diffs(_expanded(old[ref]), _expanded(new[ref])))
            if fields:
                changes.append(ObjectChange("changed", ref, fields))
    return changes
