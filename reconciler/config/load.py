"""Read an environments repository: YAML files -> documents that remember file and line.

Values are built as :mod:`reconciler.config.located` mappings and lists, so later stages (schema, references,
resolution) can name ``path:line`` for any field. Reading refuses what is unsafe: symlinks that leave the repository,
oversized files, duplicate keys, alias bombs and YAML tags that would construct anything but plain data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from reconciler.config.gcpause import without_cyclic_gc
from reconciler.config.ignore import Ignored
from reconciler.config.located import Document, LocatedDict, LocatedList
from reconciler.errors import ConfigError, Location

__all__ = [
    "MAX_FILE_BYTES", "MAX_VALUES_PER_DOCUMENT", "YAML_SUFFIXES", "Document", "LoadResult", "LocatedDict",
    "LocatedList", "ParsedFile", "load_repository", "parse_documents", "parse_file",
]

MAX_FILE_BYTES = 1024 * 1024
# An alias re-uses a node; expanding a chain of aliases can multiply the size of a document (a "billion laughs"
# bomb). Real configuration stays far below this many values per document.
MAX_VALUES_PER_DOCUMENT = 100_000
YAML_SUFFIXES = (".yaml", ".yml")

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# Plain data only. Dates stay text: schemas check their format, and JSON has no date type.
_SCALAR_CONSTRUCTORS: dict[str, Callable[[yaml.SafeLoader, yaml.ScalarNode], Any]] = {
    "tag:yaml.org,2002:int": yaml.SafeLoader.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.SafeLoader.construct_yaml_float,
    "tag:yaml.org,2002:bool": yaml.SafeLoader.construct_yaml_bool,
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:timestamp": lambda _, node: node.value,
}

_TAG_MEANS = {"tag:yaml.org,2002:int": "a whole number", "tag:yaml.org,2002:float": "a number",
              "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}
_TAG_EXAMPLES = {"tag:yaml.org,2002:int": "e.g. 4", "tag:yaml.org,2002:float": "e.g. 1.5",
                 "tag:yaml.org,2002:bool": "true or false", "tag:yaml.org,2002:null": "null"}


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    errors: list[ConfigError]
    files: int
    unread: tuple[str, ...] = ()  # files of which some document could not be read


class _Refused(Exception):
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


class _Reader:
    """Builds located values from the nodes of one document, tracking the field path for errors.

    An alias is the same node object met again. Values reached through aliases are counted, and past
    MAX_VALUES_PER_DOCUMENT the document is refused before it can expand further.
    """

    def __init__(self, path: str, constructor: yaml.SafeLoader) -> None:
        self.path = path
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

    def refuse(self, node: yaml.Node, message: str, *more: str) -> _Refused:
        return _Refused(self.location(node), message, [*self.field, *more])

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
        except _Refused as refused:
            if refused.bomb:
                refused.field, refused.relocate = self.field[:depth], True
            raise
        finally:
            self.aliased -= 1

    def collection(self, node: yaml.Node) -> Any:
        if self.aliased:
            self.left -= len(node.value) + 1
            if self.left < 0:
                raise _Refused(self.location(node), f"document expands to more than {MAX_VALUES_PER_DOCUMENT} "
                               "values through YAML aliases; refusing it (alias bomb). Write the values out "
                               "instead of nesting aliases", [], bomb=True)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
            return self.mapping(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
            return self.sequence(node)
        raise self.refuse(node, f"YAML tag {node.tag!r} is not supported; write plain mappings, lists and values")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _STR_TAG:
            return node.value
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:
            raise self.refuse(node, f"YAML tag {node.tag!r} is not supported; write plain values (quote text that "
                              "looks like a number or a date)")
        try:
            return construct(self.constructor, node)
        except Exception as exc:  # PyYAML's constructors raise KeyError, IndexError, ValueError... on bad text
            expected, tag = _TAG_MEANS.get(node.tag, "a value of this type"), node.tag.rsplit(":", 1)[-1]
            raise self.refuse(node, f"{node.value[:40]!r} cannot be read as {expected} (tag {tag}); write "
                              f"{_TAG_EXAMPLES.get(node.tag, 'a plain value')} or drop the tag") from exc

    def mapping(self, node: yaml.MappingNode) -> LocatedDict:
        mapping = LocatedDict(self.location(node))
        for key_node, value_node in self.pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.refuse(key_node, "a key must be plain text, not a mapping or a list")
            # The key's own text: "on", "yes" or "1" stay what was written instead of becoming True or 1.
            key = key_node.value
            where = self.location(key_node)
            if key in mapping:  # reported, and the document is still read (with the first value) for other checks
                self.errors.append(ConfigError(where, _field_text([*self.field, key]), "duplicate key (first "
                                               f"defined on line {mapping.where(key).line}); keep only one"))
                continue
            mapping.key_locations[key] = where
            self.field.append(key)
            try:
                mapping[key] = self.value(value_node)
            except _Refused as refused:
                if refused.relocate:
                    refused.location, refused.relocate = where, False
                raise
            self.field.pop()
        return mapping

    def sequence(self, node: yaml.SequenceNode) -> LocatedList:
        sequence = LocatedList(self.location(node))
        for index, item in enumerate(node.value):
            sequence.item_locations.append(self.location(item))
            self.field.append(index)
            try:
                sequence.append(self.value(item))
            except _Refused as refused:
                if refused.relocate:  # an item's line would be its anchor's: name the list that uses the alias
                    refused.location, refused.relocate = sequence.location, False
                    refused.field = refused.field[:-1]
                raise
            self.field.pop()
        return sequence

    def pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """Pairs of a mapping with YAML merge keys (``<<: *base``) expanded, explicit keys winning."""
        if all(key.tag != _MERGE_TAG for key, _ in node.value):
            plain: list[tuple[yaml.Node, yaml.Node]] = node.value
            return plain
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
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


def _document(node: yaml.Node, path: str, loader: yaml.SafeLoader) -> tuple[Document | None, list[ConfigError]]:
    reader = _Reader(path, loader)
    try:
        body = reader.value(node)
    except _Refused as refused:
        return None, [refused.error()]
    except RecursionError:
        return None, [ConfigError(reader.location(node), "", "document is nested too deeply to read safely")]
    if not isinstance(body, LocatedDict):
        return None, [ConfigError(reader.location(node), "", "a document must be a mapping with apiVersion, kind, "
                                  "metadata and spec")]
    return Document(body, body.location), reader.errors


def parse_documents(text: str, path: str) -> tuple[list[Document], list[ConfigError]]:
    """Parse one file's text into documents and errors.

    A document that cannot be read is left out and the next one is read; a YAML syntax error stops the file.
    """
    documents, errors, _ = parse_file(text, path)
    return documents, errors


class ParsedFile(NamedTuple):
    documents: list[Document]
    errors: list[ConfigError]
    complete: bool  # false when a document could not be read: names it defines may be missing


def parse_file(text: str, path: str) -> ParsedFile:
    """Like :func:`parse_documents`, and whether every document of the file was read (for LoadResult.unread)."""
    documents: list[Document] = []
    errors: list[ConfigError] = []
    complete = True
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"):
                continue  # an empty document, e.g. after a trailing "---"
            document, document_errors = _document(node, path, loader)
            errors.extend(document_errors)
            if document is None:
                complete = False
            else:
                documents.append(document)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        errors.append(ConfigError(where, "", f"YAML syntax error: {problem}"))
        complete = False
    except yaml.reader.ReaderError as exc:
        errors.append(_unreadable_character(text, path, exc))
        complete = False
    except yaml.YAMLError as exc:
        errors.append(ConfigError(Location(path, 1), "", f"YAML error: {' '.join(str(exc).split())}"))
        complete = False
    except RecursionError:
        errors.append(ConfigError(Location(path, 1), "", "document is nested too deeply to read safely"))
        complete = False
    finally:
        loader.dispose()
    return ParsedFile(documents, errors, complete)


def _unreadable_character(text: str, path: str, exc: yaml.reader.ReaderError) -> ConfigError:
    """YAML refuses control characters; name the one found, and where, on one line."""
    position = max(0, min(exc.position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    where = Location(path, text.count("\n", 0, position) + 1, position - line_start + 1)
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return ConfigError(where, "", f"control character U+{code:04X} is not allowed in YAML; remove it (inside "
                       f"double quotes it can be written as \\u{code:04x})")


def _yaml_files(root: Path) -> Iterator[Path]:
    """YAML files and symlinked folders (which are not descended into, but checked) under ``root``, less what
    its ``.reconcilerignore`` excludes."""
    ignored = Ignored(root)
    for directory, subdirectories, files in os.walk(root, followlinks=False):
        here = Path(directory)
        visible = sorted(d for d in subdirectories if not d.startswith(".")
                         and not ignored.folder((here / d).relative_to(root).as_posix()))
        subdirectories[:] = [d for d in visible if not (here / d).is_symlink()]
        for name in visible:
            if (here / name).is_symlink():
                yield here / name
        for name in sorted(files):
            if (name.endswith(YAML_SUFFIXES) and not name.startswith(".")
                    and not ignored.file((here / name).relative_to(root).as_posix())):
                yield here / name


def _read_text(file: Path, root: Path, start: Location) -> str | ConfigError:
    """The file's text, or why it may not be read."""
    if file.is_symlink():
        target = Path(os.path.realpath(file))
        if not target.is_relative_to(root):
            return ConfigError(start, "", f"symlink points outside the repository (to {target}); refusing to read "
                               "it. Copy the file into the repository instead")
    try:
        status = file.stat()
    except OSError as exc:
        return ConfigError(start, "", f"cannot read file: {exc.strerror}")
    if not file.is_file():
        return ConfigError(start, "", "not a regular file; remove it or give it another name")
    if status.st_size > MAX_FILE_BYTES:
        return ConfigError(start, "", f"file is {status.st_size} bytes, over the {MAX_FILE_BYTES} byte limit; "
                           "split it into several files")
    try:
        data = file.read_bytes()
    except OSError as exc:
        return ConfigError(start, "", f"cannot read file: {exc.strerror}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ConfigError(Location(start.path, line), "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           "save the file as UTF-8")


@without_cyclic_gc
def load_repository(root: Path) -> LoadResult:
    """Read every ``*.yaml``/``*.yml`` file under ``root`` (hidden folders skipped), collecting all errors."""
    root = Path(os.path.realpath(root))
    documents: list[Document] = []
    errors: list[ConfigError] = []
    unread: list[str] = []
    files = 0
    for file in _yaml_files(root):
        relative = file.relative_to(root).as_posix()
        if file.is_symlink() and file.is_dir() and Path(os.path.realpath(file)).is_relative_to(root):
            continue  # a folder inside the repository: its files are read where they really are
        text = _read_text(file, root, Location(relative, 1))
        if isinstance(text, ConfigError):
            errors.append(text)
            unread.append(relative)
            continue
        files += 1
        file_documents, file_errors, complete = parse_file(text, relative)
        documents.extend(file_documents)
        errors.extend(file_errors)
        if not complete:
            unread.append(relative)
    return LoadResult(documents, errors, files, tuple(unread))
