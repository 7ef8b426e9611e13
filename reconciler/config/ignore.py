"""``.reconcilerignore``: files of the repository that are not environment documents (other manifests, Helm
charts, CI files), in gitignore syntax, so a repository that also holds them still validates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

IGNORE_FILE = ".reconcilerignore"


class Ignored:
    """The paths a repository's ``.reconcilerignore`` excludes (none without one)."""

    def __init__(self, root: Path) -> None:
        listing = root / IGNORE_FILE
        lines = listing.read_text(encoding="utf-8").splitlines() if listing.is_file() else []
        # Most repositories have none: then no path is matched against patterns at all, and pathspec (a tenth of
        # a small command's start-up) is not even imported.
        self._spec: pathspec.GitIgnoreSpec | None = None
        if lines:
            import pathspec

            self._spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def folder(self, relative: str) -> bool:
        return self._spec is not None and self._spec.match_file(relative.rstrip("/") + "/")

    def file(self, relative: str) -> bool:
        return self._spec is not None and self._spec.match_file(relative)
