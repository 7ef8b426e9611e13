"""Values read from YAML that remember where they were written: the base of every ``path:line`` in errors.

Every mapping of a document is a :class:`LocatedDict` and every sequence a :class:`LocatedList`; they keep the line of
each key and item, also after profiles have been merged into an environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import Location


class LocatedDict(dict[str, Any]):
    """A mapping that knows where it and each of its keys were written."""

    __slots__ = ("key_locations", "location")

    def __init__(self, location: Location, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.location = location
        self.key_locations: dict[str, Location] = {}

    def where(self, key: str) -> Location:
        return self.key_locations.get(key, self.location)


class LocatedList(list[Any]):
    """A sequence that knows where it and each of its items were written.

    After a merge, an item may come from another document's list: ``origin`` is its index there, so an error can
    name the field as it is written in that file.
    """

    __slots__ = ("item_locations", "item_origins", "location")

    def __init__(self, location: Location, *args: Any) -> None:
        super().__init__(*args)
        self.location = location
        self.item_locations: list[Location] = []
        self.item_origins: list[int] = []

    def where(self, index: int) -> Location:
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.location

    def origin(self, index: int) -> int:
        return self.item_origins[index] if 0 <= index < len(self.item_origins) else index


def _child(value: Any, step: str | int) -> tuple[Location, Any] | None:
    if isinstance(value, LocatedDict) and isinstance(step, str) and step in value:
        return value.where(step), value[step]
    if isinstance(value, LocatedList) and isinstance(step, int) and 0 <= step < len(value):
        return value.where(step), value[step]
    return None


def location_of(value: Any, path: tuple[str | int, ...]) -> Location | None:
    """The location of the value at ``path`` inside ``value``, or of its deepest existing parent."""
    found: Location | None = getattr(value, "location", None)
    for step in path:
        child = _child(value, step)
        if child is None:
            break
        found, value = child
    return found


@dataclass(frozen=True)
class Document:
    """One YAML document of the repository. ``digest`` hashes its file's path and text and its place in the file:
    documents with the same digest have the same content on the same lines, so they validate alike."""

    body: LocatedDict
    location: Location
    digest: bytes = b""
    # Read from the body once: resolving asks for them of every document many times.
    kind: str = field(init=False, compare=False, repr=False)
    name: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        kind = self.body.get("kind")
        metadata = self.body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        object.__setattr__(self, "kind", kind if isinstance(kind, str) else "")
        object.__setattr__(self, "name", name if isinstance(name, str) else "")

    def where(self, *path: str | int) -> Location:
        return location_of(self.body, path) or self.location
