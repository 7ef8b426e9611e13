"""A revision's files, as the source stage hands them over (paths and bytes), parsed into a LoadResult.

The same rules as :func:`reconciler.config.load.load_repository` for a folder on disk: UTF-8 text (a byte order
mark allowed), every document read with file and line. A file unchanged between two revisions (same path, same git
blob) is parsed once through a :data:`ParseCache`; documents are never modified after parsing, so both revisions
may share them.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.config.load import LoadResult
from reconciler.config.located import Document
from reconciler.config.parse import ParsedFile, parse_file
from reconciler.errors import ConfigError, Location
from reconciler.source.revision import Revision, RevisionFiles, read_files

ParseCache = dict[tuple[str, str], ParsedFile | ConfigError]  # (path, blob) -> the file parsed, or why it is not text


def _decode(data: bytes, path: str) -> str | ConfigError:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ConfigError(Location(path, line), "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           "save the file as UTF-8")


def _parse(data: bytes, path: str) -> ParsedFile | ConfigError:
    text = _decode(data, path)
    return text if isinstance(text, ConfigError) else parse_file(text, path)


def parse_files(revision: RevisionFiles, cache: ParseCache | None = None) -> LoadResult:
    """Documents and errors of every file of ``revision``; files found in ``cache`` are not parsed again (the
    source may then have left their bytes unread)."""
    cache = {} if cache is None else cache
    documents: list[Document] = []
    errors: list[ConfigError] = list(revision.errors)
    unread: list[str] = [error.location.path for error in revision.errors]
    files = 0
    for file in revision.files:
        key = (file.path, file.blob)
        if key not in cache:
            if file.data is None:
                raise ValueError(f"{file.path}: its bytes were not read, and it is not in the parse cache")
            cache[key] = _parse(file.data, file.path)
        parsed = cache[key]
        if isinstance(parsed, ConfigError):
            errors.append(parsed)
            unread.append(file.path)
            continue
        files += 1
        documents.extend(parsed.documents)
        errors.extend(parsed.errors)
        if not parsed.complete:
            unread.append(file.path)
    return LoadResult(documents, errors, files, tuple(unread))


def load_revision(repo: Path, revision: Revision, cache: ParseCache | None = None) -> LoadResult:
    """The documents of ``repo`` (a folder of a git work tree) as they are at ``revision``; with a ``cache`` shared
    between revisions, a file unchanged since another revision is neither read nor parsed again."""
    cache = {} if cache is None else cache
    return parse_files(read_files(repo, revision, cache), cache)
