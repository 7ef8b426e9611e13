"""Read an environments repository: YAML files -> documents that remember file and line.

Values are built as :mod:`reconciler.config.located` mappings and lists, so later stages (schema, references,
resolution) can name ``path:line`` for any field. Reading refuses what is unsafe: symlinks that leave the repository,
oversized files, duplicate keys, alias bombs and YAML tags that would construct anything but plain data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.config.gcpause import without_cyclic_gc
from reconciler.config.ignore import Ignored
from reconciler.config.located import Document
from reconciler.config.parse import parse_file
from reconciler.errors import ConfigError, Location
from reconciler.source.tree import MAX_FILE_BYTES, YAML_SUFFIXES

_CHUNK = 64 * 1024  # most files of a repository are read in one


@dataclass(frozen=True)
class LoadResult:
    documents: list[Document]
    errors: list[ConfigError]
    files: int
    unread: tuple[str, ...] = ()  # files of which some document could not be read


def _yaml_files(root: Path) -> Iterator[Path]:
    """YAML files and symlinked folders (which are not descended into, but checked) under ``root``, less what
    its ``.reconcilerignore`` excludes."""
    for path, _, _ in _entries(root):
        yield Path(path)


def _entries(root: Path) -> Iterator[tuple[str, str, bool]]:
    """(path, path relative to ``root``, is a plain file) of what :func:`_yaml_files` names: a folder's own
    entries before its subfolders', each in name order (as ``os.walk`` from the top). Plain files (regular, no
    symlink, as the folder listing says) are read without further checks."""
    yield from _folder(str(root), "", Ignored(root))


def _folder(path: str, relative: str, ignored: Ignored) -> Iterator[tuple[str, str, bool]]:
    try:
        with os.scandir(path) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return  # as os.walk: a folder that cannot be listed is passed over
    folders: list[os.DirEntry[str]] = []
    for entry in entries:
        if _is_folder(entry) and not entry.name.startswith(".") and not ignored.folder(relative + entry.name):
            if entry.is_symlink():
                yield entry.path, relative + entry.name, False
            else:
                folders.append(entry)
    for entry in entries:
        if (entry.name.endswith(YAML_SUFFIXES) and not entry.name.startswith(".") and not _is_folder(entry)
                and not ignored.file(relative + entry.name)):
            yield entry.path, relative + entry.name, entry.is_file(follow_symlinks=False)
    for entry in folders:
        yield from _folder(entry.path, f"{relative}{entry.name}/", ignored)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _read_plain(file: str, root: Path, start: Location) -> str | ConfigError:
    """A plain file's text, read in small chunks (a read into a buffer of the largest allowed size costs a large
    allocation per file); anything unusual takes the checks of :func:`_read_text`."""
    chunks: list[bytes] = []
    size = 0
    try:
        descriptor = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
        try:
            while size <= MAX_FILE_BYTES and (chunk := os.read(descriptor, _CHUNK)):
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(descriptor)
    except OSError:
        return _read_text(Path(file), root, start)
    if size > MAX_FILE_BYTES:
        return _read_text(Path(file), root, start)
    return _decoded(chunks[0] if len(chunks) == 1 else b"".join(chunks), start)


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
    return _decoded(data, start)


def _decoded(data: bytes, start: Location) -> str | ConfigError:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ConfigError(Location(start.path, line), "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           "save the file as UTF-8")


def texts(root: Path) -> Iterator[tuple[str, str | ConfigError]]:
    """Each YAML file under ``root`` (a real path) as its path relative to ``root`` and its text, or why it may
    not be read; a symlinked folder inside the repository is skipped, its files are read where they really are."""
    for file, relative, plain in _entries(root):
        if plain:
            yield relative, _read_plain(file, root, Location(relative, 1))
        elif not (os.path.isdir(file) and Path(os.path.realpath(file)).is_relative_to(root)):
            yield relative, _read_text(Path(file), root, Location(relative, 1))


@without_cyclic_gc
def load_repository(root: Path) -> LoadResult:
    """Read every ``*.yaml``/``*.yml`` file under ``root`` (hidden folders skipped), collecting all errors."""
    root = Path(os.path.realpath(root))
    documents: list[Document] = []
    errors: list[ConfigError] = []
    unread: list[str] = []
    files = 0
    for relative, text in texts(root):
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
