"""The controller reads each commit's repository, mostly the documents of the commit before: a document whose text
and lines are unchanged is not parsed again.

A file is cut into documents at its ``---`` lines (in YAML a line that starts with ``---`` and a blank, or is
``---`` alone, always starts a document: no scalar may hold one). Each piece is parsed as if it stood at its
place in the file, with the lines above it left empty, so every line and column, and so every error, are the
file's; its digest names the path, the text and the place, so schema results are kept for it too
(:mod:`reconciler.config.validated`). The pieces parsed for the last commit are kept, and no others. A file with
a directive (``%YAML``, ``%TAG``) or line breaks other than ``\n``, or a piece that does not parse cleanly, is
parsed whole, as
:func:`reconciler.config.load.load_repository` would: what cannot be shown to read the same is read afresh.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from reconciler import config
from reconciler.config import load, parse
from reconciler.config.gcpause import without_cyclic_gc
from reconciler.config.load import LoadResult
from reconciler.config.located import Document
from reconciler.config.parse import ParsedFile
from reconciler.errors import ConfigError, Location

_START = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)
# Read whole: a directive, and line breaks other than "\n" (YAML counts them as lines, the cut does not).
_WHOLE = re.compile("^%|[\r\x85\u2028\u2029]", re.MULTILINE)
Piece = tuple[str, int, str]  # path, first line (0-based), text


class Documents:
    """Parsed pieces of the last commit's files, by path, place and text."""

    def __init__(self) -> None:
        self._parsed: dict[Piece, ParsedFile] = {}

    @without_cyclic_gc
    def load(self, root: Path) -> LoadResult:
        """What :func:`reconciler.config.load.load_repository` returns for ``root``, reusing unchanged pieces."""
        if not root.is_dir():
            raise config.RepositoryNotFound(f"{root}: no such directory; pass the path of an environments "
                                            "repository")
        root = Path(os.path.realpath(root))
        kept: dict[Piece, ParsedFile] = {}
        documents: list[Document] = []
        errors: list[ConfigError] = []
        unread: list[str] = []
        files = 0
        for file in load._yaml_files(root):
            relative = file.relative_to(root).as_posix()
            if file.is_symlink() and file.is_dir() and Path(os.path.realpath(file)).is_relative_to(root):
                continue  # a folder inside the repository: its files are read where they really are
            text = load._read_text(file, root, Location(relative, 1))
            if isinstance(text, ConfigError):
                errors.append(text)
                unread.append(relative)
                continue
            files += 1
            parsed = self._parse(text, relative, kept)
            documents.extend(parsed.documents)
            errors.extend(parsed.errors)
            if not parsed.complete:
                unread.append(relative)
        self._parsed = kept
        if not documents and not errors:
            raise config.RepositoryNotFound(f"{root}: no documents in *.yaml or *.yml files; pass the path of an "
                                            "environments repository (such as sample-repo)")
        return LoadResult(documents, errors, files, tuple(unread))

    def _parse(self, text: str, path: str, kept: dict[Piece, ParsedFile]) -> ParsedFile:
        if _WHOLE.search(text):
            return parse.parse_file(text, path)
        pieces: list[ParsedFile] = []
        for piece in _pieces(text, path):
            parsed = self._parsed.get(piece) or kept.get(piece)
            if parsed is None:
                parsed = parse.parse_file("\n" * piece[1] + piece[2], path)
            if parsed.errors or not parsed.complete:
                return parse.parse_file(text, path)
            kept[piece] = parsed
            pieces.append(parsed)
        return ParsedFile([d for parsed in pieces for d in parsed.documents], [], True)


def _pieces(text: str, path: str) -> list[Piece]:
    """The file cut before each document start: (path, first line, text), covering the whole text."""
    starts = [0, *(match.start() for match in _START.finditer(text) if match.start() > 0)]
    pieces, line = [], 0
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        pieces.append((path, line, text[start:end]))
        line += text.count("\n", start, end)
    return pieces
