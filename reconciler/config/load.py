"""Read an environments repository: YAML files -> documents that remember file and line.

Every mapping is loaded as a :class:`LocatedDict` and every sequence as a :class:`LocatedList`, which keep the
line of each key and item, so later stages (schema, references, resolution) can name ``path:line`` for any field,
even after profiles have been merged into an environment. Reading refuses what is unsafe: symlinks that leave the
repository, oversized files, duplicate keys and alias bombs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ConfigError, Location

MAX_FILE_BYTES = 1024 * 1024
# An alias re-uses a node; expanding a chain of aliases can multiply the size of a document (a "billion laughs"
# bomb). Real configuration stays far below this many values per document.
MAX_VALUES_PER_DOCUMENT = 100_000
YAML_SUFFIXES = (".yaml", ".yml")

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
    """A sequence that knows where it and each of its items were written."""

    __slots__ = ("item_locations", "location")

    def __init__(self, location: Location, *args: Any) -> None:
        super().__init__(*args)
        self.location = location
        self.item_locations: list[Location] = []

    def where(self, index: int) -> Location:
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.location


def location_of(value: Any, path: tuple[str | int, ...]) -> Location | None:
    """The location of the value at ``path`` inside ``value``, or of its deepest existing parent."""
    found: Location | None = getattr(value, "location", None)
    for step in path:
        if (isinstance(value, LocatedDict) and isinstance(step, str) and step in value) or (isinstance(value, LocatedList) and isinstance(step, int) and 0 <= step < len(value)):
            found = value.where(step)
            value = value[step]
        else:
            break
    return found


@dataclass(frozen=True)
class Document:
    """One YAML document of the repository."""

    body: LocatedDict
    location: Location

    @property
    def kind(self) -> str:
        kind = self.body.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def name(self) -> str:
        metadata = self.body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        return name if isinstance(name, str) else ""

    def where(self, *path: str | int) -> Location:
        return location_of(self.body, path) or self.location


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    errors: list[ConfigError]
    files: int


class _Budget:
    def __init__(self, path: str) -> None:
        self.path = path
        self.left = MAX_VALUES_PER_DOCUMENT

    def spend(self, node: yaml.Node) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Refused(
                ConfigError(
                    _loc(self.path, node),
                    "",
                    f"document expands to more than {MAX_VALUES_PER_DOCUMENT} values through YAML aliases; "
                    "refusing it (alias bomb). Write the values out instead of nesting aliases",
                )
            )


class _Refused(Exception):
    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def _loc(path: str, node: yaml.Node) -> Location:
    return Location(path, node.start_mark.line + 1)


def _construct(node: yaml.Node, path: str, budget: _Budget, constructor: yaml.SafeLoader) -> Any:
    budget.spend(node)
    if isinstance(node, yaml.MappingNode):
        mapping = LocatedDict(_loc(path, node))
        for key_node, value_node in _merged_pairs(node, path):
            key = _construct(key_node, path, budget, constructor)
            if not isinstance(key, str):
                key = str(key)
            if key in mapping:
                first = mapping.where(key)
                raise _Refused(
                    ConfigError(
                        _loc(path, key_node),
                        key,
                        f"duplicate key (first defined on line {first.line}); keep only one",
                    )
                )
            mapping.key_locations[key] = _loc(path, key_node)
            mapping[key] = _construct(value_node, path, budget, constructor)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        sequence = LocatedList(_loc(path, node))
        for item in node.value:
            sequence.item_locations.append(_loc(path, item))
            sequence.append(_construct(item, path, budget, constructor))
        return sequence
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value  # dates stay text: schemas check their format, and JSON has no date type
    return constructor.construct_object(node, deep=True)  # type: ignore[no-untyped-call]


def _merged_pairs(node: yaml.MappingNode, path: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """Pairs of a mapping with YAML merge keys (``<<: *base``) expanded, explicit keys winning."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise _Refused(ConfigError(_loc(path, source), "<<", "a merge key must refer to a mapping"))
                merged.extend(_merged_pairs(source, path))
        else:
            pairs.append((key_node, value_node))
    explicit = {key.value for key, _ in pairs if isinstance(key, yaml.ScalarNode)}
    inherited: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in merged:
        if key_node.value not in explicit:
            inherited[key_node.value] = (key_node, value_node)
    return list(inherited.values()) + pairs


def parse_documents(text: str, path: str) -> tuple[list[Document], list[ConfigError]]:
    """Parse one file's text into documents, or the first error that stops reading it."""
    documents: list[Document] = []
    loader = _Loader(text)
    try:
        while loader.check_node():  # type: ignore[no-untyped-call]
            node = loader.get_node()  # type: ignore[no-untyped-call]
            if node is None:
                continue
            body = _construct(node, path, _Budget(path), loader)
            if body is None:
                continue
            if not isinstance(body, LocatedDict):
                return documents, [
                    ConfigError(_loc(path, node), "", "a document must be a mapping with apiVersion, kind, "
                                "metadata and spec")
                ]
            documents.append(Document(body, body.location))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        return documents, [ConfigError(Location(path, line), "", f"YAML syntax error: {problem}")]
    except yaml.YAMLError as exc:
        return documents, [ConfigError(Location(path, 1), "", f"YAML error: {exc}")]
    except _Refused as refused:
        return documents, [refused.error]
    except RecursionError:
        return documents, [ConfigError(Location(path, 1), "", "document is nested too deeply to read safely")]
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
    return documents, []


def _yaml_files(root: Path) -> Iterator[Path]:
    """YAML files and symlinked folders (which are not descended into, but checked) under ``root``."""
    for directory, subdirectories, files in os.walk(root, followlinks=False):
        visible = sorted(d for d in subdirectories if not d.startswith("."))
        subdirectories[:] = [d for d in visible if not (Path(directory) / d).is_symlink()]
        for name in visible:
            if (Path(directory) / name).is_symlink():
                yield Path(directory) / name
        for name in sorted(files):
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                yield Path(directory) / name


def load_repository(root: Path) -> LoadResult:
    """Read every ``*.yaml``/``*.yml`` file under ``root`` (hidden folders skipped), collecting all errors."""
    root = root.resolve()
    documents: list[Document] = []
    errors: list[ConfigError] = []
    files = 0
    for file in _yaml_files(root):
        relative = file.relative_to(root).as_posix()
        start = Location(relative, 1)
        if file.is_symlink():
            target = file.resolve()
            if not target.is_relative_to(root):
                errors.append(ConfigError(start, "", f"symlink points outside the repository (to {target}); "
                                          "refusing to read it. Copy the file into the repository instead"))
                continue
            if target.is_dir():
                continue  # a folder inside the repository: its files are read where they really are
        try:
            size = file.stat().st_size
        except OSError as exc:
            errors.append(ConfigError(start, "", f"cannot read file: {exc.strerror}"))
            continue
        if size > MAX_FILE_BYTES:
            errors.append(ConfigError(start, "", f"file is {size} bytes, over the {MAX_FILE_BYTES} byte limit; "
                                      "split it into several files"))
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(ConfigError(start, "", f"cannot read file as UTF-8 text: {exc}"))
            continue
        files += 1
        file_documents, file_errors = parse_documents(text, relative)
        documents.extend(file_documents)
        errors.extend(file_errors)
    return LoadResult(documents, errors, files)
