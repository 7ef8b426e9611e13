"""Which entries of a git tree are the environments repository's files: the rules a folder on disk is read by.

Only ``*.yaml``/``*.yml`` files, hidden files and folders skipped, files over 1 MiB refused, symlinks followed only
inside the repository (a symlink to a folder is skipped: its files are read where they really are), and the order of
:func:`reconciler.config.load.load_repository` (a folder's own files first, then its sub-folders, each sorted).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import ClassVar

from reconciler.errors import ConfigError, Location

MAX_FILE_BYTES = 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Entry:
    """One line of ``git ls-tree --long``."""

    SYMLINK: ClassVar[str] = "120000"

    mode: str
    kind: str
    object: str
    size: int | None
    path: str


def _visible_yaml(path: str) -> bool:
    parts = path.split("/")
    return path.endswith(YAML_SUFFIXES) and not any(part.startswith(".") for part in parts)


def _read_order(path: str) -> tuple[tuple[int, str], ...]:
    parts = path.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def parents(path: str) -> list[str]:
    """Every folder above ``path``, innermost first ("a/b/c.yaml" -> ["a/b", "a"])."""
    found = []
    while path:
        path = posixpath.dirname(path)
        if path:
            found.append(path)
    return found


def yaml_blobs(entries: list[Entry], link_texts: dict[str, str]) -> tuple[list[tuple[str, Entry]], list[ConfigError]]:
    """(the file as named, the blob it reads) for every YAML file in read order, and the files that may not be
    read. ``link_texts`` holds the target of every symlink blob."""
    by_path = {e.path: e for e in entries}
    folders = {posixpath.dirname(e.path) for e in entries}
    folders |= {f for path in list(folders) for f in parents(path)} | {"."}
    errors: list[ConfigError] = []
    wanted: list[tuple[str, Entry]] = []
    for entry in sorted((e for e in entries if _visible_yaml(e.path)), key=lambda e: _read_order(e.path)):
        blob: Entry | ConfigError | None = entry
        if entry.mode == Entry.SYMLINK:
            blob = _follow(entry, by_path, folders, link_texts)
        if blob is None or (isinstance(blob, Entry) and blob.kind != "blob"):
            continue  # a folder read where it is, or a submodule: not part of this repository's content
        if isinstance(blob, ConfigError):
            errors.append(blob)
        elif blob.size is not None and blob.size > MAX_FILE_BYTES:
            errors.append(ConfigError(Location(entry.path, 1), "", f"file is {blob.size} bytes, over the "
                                      f"{MAX_FILE_BYTES} byte limit; split it into several files"))
        else:
            wanted.append((entry.path, blob))
    return wanted, errors


def _follow(entry: Entry, by_path: dict[str, Entry], folders: set[str],
            link_texts: dict[str, str]) -> Entry | ConfigError | None:
    """Follow a chain of symlinks inside the tree; the blob at its end, None for a folder, or why not."""
    start = Location(entry.path, 1)
    seen: set[str] = set()
    current = entry
    while current.mode == Entry.SYMLINK:
        link = link_texts.get(current.object, "")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(current.path), link))
        if posixpath.isabs(link) or target == ".." or target.startswith("../"):
            return ConfigError(start, "", f"symlink points outside the repository (to {link}); refusing to read "
                               "it. Copy the file into the repository instead")
        if target in folders:
            return None
        if target in seen or target not in by_path:
            return ConfigError(start, "", f"cannot read file: symlink to {link} leads to no file at this revision")
        seen.add(target)
        current = by_path[target]
    return current
