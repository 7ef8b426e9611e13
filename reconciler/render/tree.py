"""``render --out DIR``: one file per target, ``DIR/<cluster>/<namespace>.yaml``, touching only what it wrote.

The folder may be committed to git, so its manifest (the files the last render wrote) is untrusted input: an
entry is only removed when it has the exact shape the render writes (``<cluster>/<namespace>.yaml``: no ``..``,
not absolute), lies inside DIR and is reached without a symlink. Nothing is written or removed through a
symlink below DIR.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.render.objects import Manifest
from reconciler.render.output import to_yaml

MANIFEST = ".reconciler-render"  # the files the last `render --out` wrote into a folder, one per line
# The only shape of path the render writes: a cluster's folder and a namespace's file, both plain names.
_ENTRY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*/[A-Za-z0-9_][A-Za-z0-9._-]*\.yaml$")


class OutputError(ReconcilerError):
    """``render --out`` cannot write where it was asked to."""


def _fail(path: Path, what: str, error: OSError | None = None) -> OutputError:
    reason = f": {error.strerror}" if error is not None and error.strerror else ""
    return OutputError(f"render --out: {what} {str(path)!r}{reason}; choose a folder you can write (it is created "
                       "if missing) and that holds no symlinks in place of the files the render writes")


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _prepare(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise _fail(directory, "is not a folder:", exc) from None
    except OSError as exc:
        raise _fail(directory, "cannot create the folder", exc) from None
    if not directory.is_dir():
        raise _fail(directory, "is not a folder:")


def _write(path: Path, text: str) -> None:
    """Write a regular file; refuses a symlink at ``path`` or at its folder (both would lead outside DIR)."""
    for place in (path.parent, path):
        if _is_link(place):
            raise _fail(place, "refusing to write through the symlink")
    try:
        path.parent.mkdir(exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise _fail(path, "cannot write", exc) from None


def _previous(listing: Path) -> set[str]:
    if _is_link(listing) or not listing.is_file():
        return set()
    try:
        return {entry for entry in listing.read_text(encoding="utf-8", errors="replace").split("\n")
                if _ENTRY.match(entry)}
    except OSError:
        return set()


def _remove_stale(directory: Path, entry: str) -> Path | None:
    path = directory / entry
    if _is_link(path.parent) or _is_link(path) or not path.is_file():
        return None
    try:
        path.unlink()
    except OSError:
        return None
    return path


def write_tree(rendered: dict[str, list[Manifest]], directory: Path) -> tuple[list[Path], list[Path]]:
    """Write ``DIR/<cluster>/<namespace>.yaml`` for each target (``kubectl apply -R -f DIR`` accepts them).

    Files that an earlier render wrote there and that no target needs any more are removed, so a removed
    environment does not come back through ``kubectl apply``; no other file in the folder is touched.
    Returns the files written and the files removed.
    """
    _prepare(directory)
    listing = directory / MANIFEST
    before = _previous(listing)
    written = []
    for key, objects in sorted(rendered.items()):
        cluster, namespace = key.split("/", 1)
        path = directory / cluster / f"{namespace}.yaml"
        _write(path, to_yaml(objects))
        written.append(path)
    now = {path.relative_to(directory).as_posix() for path in written}
    removed = [gone for entry in sorted(before - now) if (gone := _remove_stale(directory, entry)) is not None]
    _write(listing, "".join(f"{name}\n" for name in sorted(now)))
    return written, removed
