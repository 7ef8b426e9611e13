"""The merge rules of profiles and ``extends``.

An environment (or profile) lists parents in ``spec.extends``; a parent is a Profile or another Environment.
Each parent is resolved first (with its own ``extends``), then the parents are merged in the order listed, and the
document's own values are merged last:

* **later wins**: a later parent overrides an earlier one, and the document's own values override every parent;
* **maps merge deeply**, key by key (``quota``, ``limits``, ``labels``, ``agent``, ``agent.resources``...): a key
  set only by a parent is kept, a key set again is merged or replaced by these same rules;
* **named lists merge by identity**: ``agent.queues`` and ``agent.connections`` by ``name``, ``access`` by
  ``team`` or ``user``. An item with an identity seen before is merged into that item (so an environment can change
  one queue's concurrency, or one team's role); new items are appended after the inherited ones;
* a connection's ``secret`` and ``configMap`` are alternatives: setting one drops the other inherited one;
* **everything else is replaced**: scalars (``network``, ``agent.image``, ``agent.replicas``...) and other lists;
* ``extends``, ``targets``, ``protected``, ``onRemove`` and ``adopt`` describe one environment and are **never
  inherited**, also not when an environment extends another environment;
* nothing is removed by a merge: to switch off an inherited agent, set ``agent.enabled: false``.

Merged mappings keep the location of each key from the document that set it, so an error about a merged value
names the file and line where that value was written (a profile's, or the environment's own).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from reconciler.config.located import LocatedDict, LocatedList
from reconciler.errors import Location

_NOWHERE = Location("<merged>", 0)


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
# Keys of a named list's items of which at most one may be set: a later item's choice replaces the earlier one's.
ALTERNATIVES: dict[str, frozenset[str]] = {
    "connections": frozenset({"secret", "configMap"}),
}


def identity(key: str, item: Any) -> Hashable:
    """The identity of an item of the named list ``key`` (None when the list is not a named one)."""
    by = NAMED_LISTS.get(key)
    return by(item) if by is not None else None


def merge(base: Any, override: Any, key: str | None = None) -> Any:
    """``override`` merged onto ``base`` by the rules above; neither input is modified."""
    if isinstance(base, dict) and isinstance(override, dict):
        return _merge_maps(base, override)
    if key in NAMED_LISTS and isinstance(base, list) and isinstance(override, list):
        return _merge_named(base, override, key)
    return override


def _location(*values: Any) -> Location:
    for value in values:
        location = getattr(value, "location", None)
        if isinstance(location, Location):
            return location
    return _NOWHERE


def _merge_maps(base: dict[str, Any], override: dict[str, Any]) -> LocatedDict:
    merged = LocatedDict(_location(override, base), base)
    if isinstance(base, LocatedDict):
        known, fallback = base.key_locations, base.location
        merged.key_locations = {key: known.get(key, fallback) for key in base}
    locations = merged.key_locations
    for key, value in override.items():
        merged[key] = merge(merged[key], value, key) if key in merged else value
        if isinstance(override, LocatedDict):
            locations[key] = override.where(key)
    return merged


def _merge_item(base: Any, override: Any, alternatives: frozenset[str]) -> Any:
    if isinstance(base, dict) and isinstance(override, dict) and alternatives & override.keys():
        dropped = (alternatives & base.keys()) - override.keys()
        kept = LocatedDict(_location(base), {k: v for k, v in base.items() if k not in dropped})
        if isinstance(base, LocatedDict):
            kept.key_locations = {k: base.where(k) for k in kept}
        base = kept
    return merge(base, override)


def _merge_named(base: list[Any], override: list[Any], key: str) -> LocatedList:
    merged = LocatedList(_location(override, base))
    alternatives = ALTERNATIVES.get(key, frozenset())
    positions: dict[Hashable, int] = {}
    for source in (base, override):
        for index, item in enumerate(source):
            where = source.where(index) if isinstance(source, LocatedList) else _location(source)
            origin = source.origin(index) if isinstance(source, LocatedList) else index
            ident = identity(key, item)
            if ident is not None and ident in positions:
                position = positions[ident]
                merged[position] = _merge_item(merged[position], item, alternatives)
                merged.item_locations[position] = where
                merged.item_origins[position] = origin
                continue
            if ident is not None:
                positions[ident] = len(merged)
            merged.append(item)
            merged.item_locations.append(where)
            merged.item_origins.append(origin)
    return merged
