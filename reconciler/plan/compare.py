"""Pure: where a desired object is not contained in its live counterpart, field by field.

Only the fields the reconciler manages are compared: desired must be contained in live, with quantities
normalised ("1Gi" == "1024Mi"), so fields the API server defaults never show as drift. A field the reconciler
applied before and no longer wants (found in the live object's managedFields) is a difference too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.config.model import FIELD_MANAGER
from reconciler.config.quantity import quantities_equal

Object = dict[str, Any]
MISSING = object()  # a field one side does not have (None is a value a field can hold)


@dataclass(frozen=True)
class FieldDiff:
    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    if value is MISSING or value is None:
        return "(none)"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def _equal(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return type(desired) is type(live) and desired == live
    if isinstance(desired, str | int | float) and isinstance(live, str | int | float):
        return quantities_equal(desired, live)
    return bool(desired == live)


def contained(desired: Any, live: Any) -> bool:
    """Whether ``desired`` is contained in ``live``: the verdict of :func:`contained_diffs` without building a path
    or a diff, since nearly every object of a reconcile is unchanged. A string leaf, the most common field, is
    judged inside its mapping's loop rather than by a call of its own."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        get = live.get
        for key, value in desired.items():
            have = get(key, MISSING)
            if type(value) is str and type(have) is str:
                if value == have or quantities_equal(value, have):
                    continue
                return False
            if have is MISSING or not contained(value, have):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contained(want, have) for want, have in zip(desired, live, strict=True))
    if type(desired) is type(live) and desired == live:  # the same value, as most fields are: no quantity parse
        return True
    return live is not MISSING and _equal(desired, live)


def contained_diffs(desired: Any, live: Any, path: str = "") -> Iterator[FieldDiff]:
    """Differences where ``desired`` is not contained in ``live`` (extra live fields are fine)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            yield FieldDiff(path or ".", live if live is not None else MISSING, desired)
            return
        for key, value in desired.items():
            yield from contained_diffs(value, live.get(key, MISSING), f"{path}.{key}" if path else key)
    elif isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            yield FieldDiff(path, live, desired)
            return
        for index, (want, have) in enumerate(zip(desired, live, strict=True)):
            if any(True for _ in contained_diffs(want, have, f"{path}[{index}]")):
                yield FieldDiff(path, live, desired)
                return
    elif live is MISSING or not _equal(desired, live):
        yield FieldDiff(path, live, desired)


def _removed_paths(fields: dict[str, Any], desired: Any, live: Any, prefix: tuple[str, ...],
                   found: set[tuple[str, ...]]) -> None:
    """Paths of a managedFields FieldsV1 tree (map keys; a list's items count as the list itself) that ``live``
    has and ``desired`` does not, walked beside both objects so that an unchanged object costs one pass: a leaf
    that desired still has is settled without looking at live."""
    wanted = desired if isinstance(desired, dict) else None
    have_map = live if isinstance(live, dict) else None
    for key, sub in fields.items():
        if not key.startswith("f:"):  # k:/v:/i: entries: the owner has items of the list at ``prefix``
            if key != "." and desired is MISSING and prefix:
                found.add(prefix)
            continue
        name = key[2:]
        want = MISSING if wanted is None else wanted.get(name, MISSING)
        branch = isinstance(sub, dict) and len(sub) > ("." in sub)
        if want is not MISSING and not branch:
            continue
        have = MISSING if have_map is None else have_map.get(name, MISSING)
        if have is MISSING:
            continue  # live no longer has it: nothing to remove, here or below
        if branch:
            _removed_paths(sub, want, have, (*prefix, name), found)
        else:
            found.add((*prefix, name))


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj[step]
    return obj


def removed_fields(desired: Object, live: Object) -> list[FieldDiff]:
    """Fields the reconciler applied before (per managedFields) that the desired object no longer has."""
    found: set[tuple[str, ...]] = set()
    for entry in live.get("metadata", {}).get("managedFields", []) or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            _removed_paths(entry.get("fieldsV1", {}), desired, live, (), found)
    return [FieldDiff(".".join(path), _get_path(live, path), MISSING) for path in sorted(found)]


def object_diffs(desired: Object, live: Object) -> list[FieldDiff]:
    found = [] if contained(desired, live) else list(contained_diffs(desired, live))
    return [*found, *removed_fields(desired, live)]
