"""The merge rules of profiles and ``extends``.

* maps merge deeply, key by key;
* named lists merge item by item on their identity (queues and connections by ``name``, access by ``team`` or
  ``user``): a later item with the same identity is merged into the earlier one, new items are appended;
* every other value (scalars, other lists) is replaced by the later one.

Merged mappings keep the location of each key from the document that set it, so errors name the right file.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from reconciler.config.load import LocatedDict, LocatedList


def _by_name(item: Any) -> Hashable:
    return item.get("name") if isinstance(item, dict) else None


def _by_subject(item: Any) -> Hashable:
    if not isinstance(item, dict):
        return None
    return ("team", item["team"]) if "team" in item else ("user", item.get("user"))


NAMED_LISTS: dict[str, Callable[[Any], Hashable]] = {
    "queues": _by_name,
    "connections": _by_name,
    "access": _by_subject,
}


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    """``override`` merged onto ``base`` by the rules above; neither input is modified."""
    if isinstance(base, dict) and isinstance(override, dict):
        return _merge_maps(base, override)
    if key in NAMED_LISTS and isinstance(base, list) and isinstance(override, list):
        return _merge_named(base, override, NAMED_LISTS[key])
    return override


def _merge_maps(base: dict[str, Any], override: dict[str, Any]) -> LocatedDict:
    location = getattr(override, "location", None) or getattr(base, "location", None)
    merged = LocatedDict(location)  # type: ignore[arg-type]
    for key, value in base.items():
        merged[key] = value
        if isinstance(base, LocatedDict):
            merged.key_locations[key] = base.where(key)
    for key, value in override.items():
        merged[key] = merge(merged[key], value, key) if key in merged else value
        if isinstance(override, LocatedDict):
            merged.key_locations[key] = override.where(key)
    return merged


def _merge_named(base: list[Any], override: list[Any], identity: Callable[[Any], Hashable]) -> LocatedList:
    location = getattr(override, "location", None) or getattr(base, "location", None)
    merged = LocatedList(location)  # type: ignore[arg-type]
    positions: dict[Hashable, int] = {}
    for source in (base, override):
        for index, item in enumerate(source):
            where = source.where(index) if isinstance(source, LocatedList) else location
            ident = identity(item)
            if ident is not None and ident in positions:
                position = positions[ident]
                merged[position] = merge(merged[position], item)
                merged.item_locations[position] = where
                continue
            if ident is not None:
                positions[ident] = len(merged)
            merged.append(item)
            merged.item_locations.append(where)
    return merged
