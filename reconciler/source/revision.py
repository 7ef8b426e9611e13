"""A revision of the environments repository, read from git without touching the work tree: its files as bytes.

:func:`read_files` lists the revision's tree (``git ls-tree``) and reads every YAML blob in one ``git cat-file
--batch`` call, choosing files by the rules of :mod:`reconciler.source.tree`. The work tree, the index and HEAD
are never changed, so a pull request's base and head can be read side by side from the same checkout. Parsing is
config's job (:func:`reconciler.config.files.parse_files`): this stage hands over paths and bytes.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.source.git import Git, GitError
from reconciler.source.tree import Entry, yaml_blobs


class MissingFolder(GitError):
    """The environments repository's folder does not exist at a revision (it was added later)."""


@dataclass(frozen=True)
class Revision:
    """A revision as the user named it and the commit it resolved to."""

    name: str
    commit: str

    @property
    def short(self) -> str:
        return self.commit[:12]


@dataclass(frozen=True)
class SourceFile:
    """One YAML file of a revision. ``blob`` is git's object id, a hash of the content: the same id means the same
    bytes, so a caller that has this file already may skip its bytes (``data`` is then None)."""

    path: str
    blob: str
    data: bytes | None


@dataclass(frozen=True)
class RevisionFiles:
    """The YAML files of a revision in the order a folder on disk is read, and the files that may not be read."""

    files: tuple[SourceFile, ...]
    errors: tuple[ConfigError, ...]


def _git(repo: Path) -> Git:
    return Git(repo, f"in {repo}", "is the repository on a slow or unreachable disk?")


def _prefix(repo: Path) -> str:
    """Where ``repo`` is inside its git repository ("" at the top, "envs/" for a sub-folder)."""
    if not repo.is_dir():
        raise GitError(f"{repo}: no such directory; pass the path of an environments repository")
    try:
        return _git(repo).output("rev-parse", "--show-prefix").decode().strip()
    except GitError as exc:
        raise GitError(f"{repo} is not inside a git repository; diff reads revisions from git ({exc})") from exc


def resolve_revision(repo: Path, name: str) -> Revision:
    """The commit ``name`` (a branch, tag, ``origin/main``, ``HEAD~1``, a hash) points to in ``repo``."""
    _prefix(repo)
    try:
        commit = _git(repo).output("rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}")
    except GitError as exc:
        raise GitError(f"revision {name!r} is not a commit in {repo}; fetch it first (for example "
                       "`git fetch origin main`) or check its spelling") from exc
    return Revision(name, commit.decode().strip())


def _tree_entries(git: Git, revision: Revision, prefix: str) -> list[Entry]:
    spec = f"{revision.commit}:{prefix}" if prefix else f"{revision.commit}^{{tree}}"
    try:
        tree = git.output("rev-parse", "--verify", "--quiet", spec).decode().strip()
    except GitError as exc:
        raise MissingFolder(f"folder {prefix.rstrip('/')!r} does not exist at revision {revision.name} "
                            f"({revision.short})") from exc
    entries = []
    for record in git.output("ls-tree", "-r", "-z", "--long", "--full-tree", tree).split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, obj, size = meta.decode().split()
        entries.append(Entry(mode, kind, obj, int(size) if size.isdigit() else None,
                             path.decode("utf-8", "surrogateescape")))
    return entries


def _cat_blobs(git: Git, objects: list[str]) -> dict[str, bytes]:
    if not objects:
        return {}
    unique = list(dict.fromkeys(objects))
    output = git.output("cat-file", "--batch", stdin="".join(f"{o}\n" for o in unique).encode())
    blobs: dict[str, bytes] = {}
    position = 0
    for obj in unique:
        end = output.index(b"\n", position)
        header = output[position:end].decode().split()
        if len(header) != 3:
            raise GitError(f"git cat-file could not read object {obj}: {' '.join(header)}")
        size = int(header[2])
        blobs[obj] = output[end + 1:end + 1 + size]
        position = end + 1 + size + 1
    return blobs


def read_files(repo: Path, revision: Revision, known: Container[tuple[str, str]] = ()) -> RevisionFiles:
    """The YAML files of ``repo`` (a folder of a git work tree) as they are at ``revision``; the content of files
    whose (path, blob) is in ``known`` is not read."""
    git = _git(repo)
    entries = _tree_entries(git, revision, _prefix(repo))
    links = [e.object for e in entries if e.mode == Entry.SYMLINK]
    link_texts = {obj: data.decode("utf-8", "surrogateescape") for obj, data in _cat_blobs(git, links).items()}
    kept, errors = yaml_blobs(entries, link_texts)
    contents = _cat_blobs(git, [blob.object for path, blob in kept if (path, blob.object) not in known])
    files = tuple(SourceFile(path, blob.object, contents.get(blob.object)) for path, blob in kept)
    return RevisionFiles(files, tuple(errors))

