"""``.reconcilerignore``: files of the repository that are not environment documents (other manifests, Helm
charts, CI files), in gitignore syntax, so a repository that also holds them still validates."""

from __future__ import annotations

from pathlib import Path

import pathspec

IGNORE_FILE = ".reconcilerignore"


class Ignored:
    """The paths a repository's ``.reconcilerignore`` excludes (none without one)."""

    def __init__(self, root: Path) -> None:
        listing = root / IGNORE_FILE
        lines = listing.read_text(encoding="utf-8").splitlines() if listing.is_file() else []
        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def folder(self, relative: str) -> bool:
        return self._spec.match_file(relative.rstrip("/") + "/")

    def file(self, relative: str) -> bool:
        return self._spec.match_file(relative)
