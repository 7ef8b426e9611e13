"""YAML nodes -> located values that remember file and line, refusing duplicate keys, alias bombs and tags that
would construct anything but plain data."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from reconciler.config.located import LocatedDict, LocatedList
from reconciler.config.yaml_tags import (
    MAP_TAG,
    MERGE_TAG,
    SCALAR_CONSTRUCTORS,
    SEQ_TAG,
    SHORT,
    STR_TAG,
    TAG_EXAMPLES,
    TAG_MEANS,
)
from reconciler.errors import ConfigError, Location

# An alias re-uses a node; expanding a chain of aliases can multiply the size of a document (a "billion laughs"
# bomb). Real configuration stays far below this many values per document.
MAX_VALUES_PER_DOCUMENT = 100_000


class Refused(Exception):
    """Stops reading one document."""

    def __init__(self, location: Location, message: str, field: list[str | int], bomb: bool = False) -> None:
        super().__init__(message)
        self.location = location
        self.message = message
        self.field = field
        self.bomb = bomb
        # Set while an alias bomb's error travels outwards to the place where the outermost alias is used.
        self.relocate = False

    def error(self) -> ConfigError:
        return ConfigError(self.location, _field_text(self.field), self.message)


def _field_text(path: list[str | int]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text


class Reader:
    """Builds located values from the nodes of one document, tracking the field path for errors.

    An alias is the same node object met again. Values reached through aliases are counted, and past
    MAX_VALUES_PER_DOCUMENT the document is refused before it can expand further.
    """

    def __init__(self, path: str, constructor: yaml.SafeLoader, merges: bool = True) -> None:
        self.path = path
        self.merges = merges  # whether the text may hold a merge key at all (see parse.py)
        self.constructor = constructor
        self.field: list[str | int] = []
        self.errors: list[ConfigError] = []
        self.left = MAX_VALUES_PER_DOCUMENT
        self.seen: set[int] = set()
        self.aliased = 0
        self.locations: dict[int, Location] = {}  # one per line: most lines hold one key, flow mappings several

    def location(self, node: yaml.Node) -> Location:
        line = node.start_mark.line + 1
        location = self.locations.get(line)
        if location is None:
            location = self.locations[line] = Location(self.path, line)
        return location

    def _text(self, node: yaml.Node) -> Any:
        """A value; plain text, the most common, without the detour through :meth:`value`."""
        if node.tag == STR_TAG and type(node) is yaml.ScalarNode:
            value: str = node.value
            return sys.intern(value) if len(value) <= SHORT else value
        return self.value(node)

    def refuse(self, node: yaml.Node, message: str, *more: str) -> Refused:
        return Refused(self.location(node), message, [*self.field, *more])

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) not in self.seen:
            self.seen.add(id(node))
            return self.collection(node)
        depth = len(self.field)
        self.aliased += 1
        try:
            return self.collection(node)
        except Refused as refused:
            if refused.bomb:
                refused.field, refused.relocate = self.field[:depth], True
            raise
        finally:
            self.aliased -= 1

    def collection(self, node: yaml.Node) -> Any:
        if self.aliased:
            self.left -= len(node.value) + 1
            if self.left < 0:
                raise Refused(self.location(node), f"document expands to more than {MAX_VALUES_PER_DOCUMENT} "
                               "values through YAML aliases; refusing it (alias bomb). Write the values out "
                               "instead of nesting aliases", [], bomb=True)
        if isinstance(node, yaml.MappingNode) and node.tag == MAP_TAG:
            return self.mapping(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == SEQ_TAG:
            return self.sequence(node)
        raise self.refuse(node, f"YAML tag {node.tag!r} is not supported; write plain mappings, lists and values")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == STR_TAG:
            value: str = node.value
            return sys.intern(value) if len(value) <= SHORT else value
        construct = SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:
            raise self.refuse(node, f"YAML tag {node.tag!r} is not supported; write plain values (quote text that "
                              "looks like a number or a date)")
        try:
            return construct(self.constructor, node)
        except Exception as exc:  # PyYAML's constructors raise KeyError, IndexError, ValueError... on bad text
            expected, tag = TAG_MEANS.get(node.tag, "a value of this type"), node.tag.rsplit(":", 1)[-1]
            raise self.refuse(node, f"{node.value[:40]!r} cannot be read as {expected} (tag {tag}); write "
                              f"{TAG_EXAMPLES.get(node.tag, 'a plain value')} or drop the tag") from exc

    def mapping(self, node: yaml.MappingNode) -> LocatedDict:
        mapping = LocatedDict(self.location(node))
        locations, key_locations, field = self.locations, mapping.key_locations, self.field
        for key_node, value_node in self.pairs(node) if self.merges else node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.refuse(key_node, "a key must be plain text, not a mapping or a list")
            # The key's own text: "on", "yes" or "1" stay what was written instead of becoming True or 1.
            key = sys.intern(key_node.value)  # the same few keys in every document: stored once
            where = locations.get(key_node.start_mark.line + 1) or self.location(key_node)
            if key in mapping:  # reported, and the document is still read (with the first value) for other checks
                self.errors.append(ConfigError(where, _field_text([*field, key]), "duplicate key (first "
                                               f"defined on line {mapping.where(key).line}); keep only one"))
                continue
            key_locations[key] = where
            field.append(key)
            try:
                mapping[key] = self._text(value_node)
            except Refused as refused:
                if refused.relocate:
                    refused.location, refused.relocate = where, False
                raise
            field.pop()
        return mapping

    def sequence(self, node: yaml.SequenceNode) -> LocatedList:
        sequence = LocatedList(self.location(node))
        locations, item_locations, field = self.locations, sequence.item_locations, self.field
        for index, item in enumerate(node.value):
            item_locations.append(locations.get(item.start_mark.line + 1) or self.location(item))
            field.append(index)
            try:
                sequence.append(self._text(item))
            except Refused as refused:
                if refused.relocate:  # an item's line would be its anchor's: name the list that uses the alias
                    refused.location, refused.relocate = sequence.location, False
                    refused.field = refused.field[:-1]
                raise
            field.pop()
        return sequence

    def pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Pairs of a mapping with YAML merge keys (``<<: *base``) expanded, explicit keys winning."""
        if all(key.tag != MERGE_TAG for key, _ in node.value):
            plain: list[tuple[yaml.Node, yaml.Node]] = node.value
            return plain
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self.refuse(source, "a merge key must refer to a mapping", "<<")
                    merged.extend(self.pairs(source))
            else:
                pairs.append((key_node, value_node))
        if not merged:
            return pairs
        explicit = {key.value for key, _ in pairs if isinstance(key, yaml.ScalarNode)}
        inherited: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in merged:
            if key_node.value not in explicit:
                inherited[key_node.value] = (key_node, value_node)
        return list(inherited.values()) + pairs
