"""How YAML text becomes nodes and plain values: the C loader with cached implicit tags, and the only tags that
construct anything (plain data: no objects, no dates)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

_RESOLVER = yaml.resolver.Resolver()  # the implicit types of YAML 1.1, as SafeLoader resolves them
SHORT = 64  # scalars up to this length have their tags remembered: keys and values repeat across documents


_PLAIN_TAGS: dict[str, str] = {}  # short plain scalars -> their tag; keys and values repeat across documents
_MAX_REMEMBERED = 8192


def _plain_tag(value: str) -> str:
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if len(value) <= SHORT and len(_PLAIN_TAGS) < _MAX_REMEMBERED:
        _PLAIN_TAGS[value] = tag
    return tag


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C loader, with the tag of each short scalar remembered and plain mappings and lists tagged directly:
    matching every key and value against YAML's implicit-type patterns in Python was a fifth of reading a
    repository. (The parser asks only for nodes written without a tag.) A quoted scalar is text, as PyYAML's
    resolver decides too; a plain one's tag depends on its text alone."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return STR_TAG
            return _PLAIN_TAGS.get(value) or _plain_tag(value)
        return MAP_TAG if kind is yaml.MappingNode else SEQ_TAG


MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
# Plain data only. Dates stay text: schemas check their format, and JSON has no date type.
SCALAR_CONSTRUCTORS: dict[str, Callable[[yaml.SafeLoader, yaml.ScalarNode], Any]] = {
    "tag:yaml.org,2002:int": yaml.SafeLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.SafeLoader.construct_yaml_float,
    "tag:yaml.org,2002:bool": yaml.SafeLoader.construct_yaml_bool,
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:timestamp": lambda _, node: node.value,
}

TAG_MEANS = {"tag:yaml.org,2002:int": "a whole number", "tag:yaml.org,2002:float": "a number",
              "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}
TAG_EXAMPLES = {"tag:yaml.org,2002:int": "e.g. 4", "tag:yaml.org,2002:float": "e.g. 1.5",
                 "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}
