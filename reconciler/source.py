"""Git: read the environments repository as it is at a revision, without touching the work tree.

``read_revision`` lists the revision's tree (``git ls-tree``) and reads every YAML blob in one ``git cat-file
--batch`` call, then parses the texts with the same rules as :func:`reconciler.config.load.load_repository`: only
``*.yaml``/``*.yml`` files, hidden files and folders skipped, files over 1 MiB refused, symlinks followed only
inside the repository. The work tree, the index and HEAD are never changed, so a pull request's base and head can
be read side by side from the same checkout.

``Mirror`` follows one branch of a remote for the in-cluster controller: a cheap ``ls-remote`` check, a shallow
single-branch fetch, and a read-only tree per revision.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
import shlex
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from reconciler.config.load import MAX_FILE_BYTES, YAML_SUFFIXES, Document, LoadResult, parse_documents
from reconciler.errors import ConfigError, Location, ReconcilerError

GIT_TIMEOUT_SECONDS = 120
CHECK_TIMEOUT_SECONDS = 15.0  # ls-remote is one round trip: a remote silent this long is unreachable
CONNECT_TIMEOUT_SECONDS = 10
_SYMLINK_MODE = "120000"


class GitError(ReconcilerError):
    """A git command failed: not a repository, an unknown revision, or git itself is missing."""


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
class _Entry:
    mode: str
    kind: str
    object: str
    size: int | None
    path: str


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        completed = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True,
                                   timeout=GIT_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH; install git to compare revisions") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} in {repo} took over {GIT_TIMEOUT_SECONDS}s; is the repository on a slow "
                       "or unreachable disk?") from exc
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {completed.returncode}"
        raise GitError(f"git {args[0]} in {repo} failed: {reason}")
    return completed.stdout


def _prefix(repo: Path) -> str:
    """Where ``repo`` is inside its git repository ("" at the top, "envs/" for a sub-folder)."""
    if not repo.is_dir():
        raise GitError(f"{repo}: no such directory; pass the path of an environments repository")
    try:
        return _git(repo, "rev-parse", "--show-prefix").decode().strip()
    except GitError as exc:
        raise GitError(f"{repo} is not inside a git repository; diff reads revisions from git ({exc})") from exc


def resolve_revision(repo: Path, name: str) -> Revision:
    """The commit ``name`` (a branch, tag, ``origin/main``, ``HEAD~1``, a hash) points to in ``repo``."""
    _prefix(repo)
    try:
        commit = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}")
    except GitError as exc:
        raise GitError(f"revision {name!r} is not a commit in {repo}; fetch it first (for example "
                       "`git fetch origin main`) or check its spelling") from exc
    return Revision(name, commit.decode().strip())


def _tree_entries(repo: Path, revision: Revision, prefix: str) -> list[_Entry]:
    spec = f"{revision.commit}:{prefix}" if prefix else f"{revision.commit}^{{tree}}"
    try:
        tree = _git(repo, "rev-parse", "--verify", "--quiet", spec).decode().strip()
    except GitError as exc:
        raise MissingFolder(f"folder {prefix.rstrip('/')!r} does not exist at revision {revision.name} "
                       f"({revision.short})") from exc
    listing = _git(repo, "ls-tree", "-r", "-z", "--long", "--full-tree", tree)
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, obj, size = meta.decode().split()
        entries.append(_Entry(mode, kind, obj, int(size) if size.isdigit() else None,
                              path.decode("utf-8", "surrogateescape")))
    return entries


def _visible_yaml(path: str) -> bool:
    parts = path.split("/")
    return path.endswith(YAML_SUFFIXES) and not any(part.startswith(".") for part in parts)


def _read_order(path: str) -> tuple[tuple[int, str], ...]:
    """The order load_repository reads files in: a folder's own files first, then its sub-folders, each sorted."""
    parts = path.split("/")
    return (*((1, part) for part in parts[:-1]), (0, parts[-1]))


def _cat_blobs(repo: Path, objects: list[str]) -> dict[str, bytes]:
    if not objects:
        return {}
    unique = list(dict.fromkeys(objects))
    output = _git(repo, "cat-file", "--batch", stdin="".join(f"{o}\n" for o in unique).encode())
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


def _decode(data: bytes, start: Location) -> str | ConfigError:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ConfigError(Location(start.path, line), "", f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                           "save the file as UTF-8")


# Parsed files by (path, blob) -> (readable as text, documents, errors): a file unchanged between two revisions
# is parsed once. Documents are never modified after parsing, so both revisions may share them.
ParseCache = dict[tuple[str, str], tuple[bool, list[Document], list[ConfigError]]]


def read_revision(repo: Path, revision: Revision, cache: ParseCache | None = None) -> LoadResult:
    """The documents of ``repo`` (a folder of a git work tree) as they are at ``revision``."""
    cache = {} if cache is None else cache
    prefix = _prefix(repo)
    entries = _tree_entries(repo, revision, prefix)
    by_path = {e.path: e for e in entries}
    folders = {posixpath.dirname(e.path) for e in entries}
    folders |= {f for path in list(folders) for f in _parents(path)} | {"."}
    links = [e.object for e in entries if e.mode == _SYMLINK_MODE]
    link_texts = {obj: data.decode("utf-8", "surrogateescape") for obj, data in _cat_blobs(repo, links).items()}

    errors: list[ConfigError] = []
    wanted: list[tuple[_Entry, _Entry]] = []  # (the file as named, the blob it reads)
    for entry in sorted((e for e in entries if _visible_yaml(e.path)), key=lambda e: _read_order(e.path)):
        start = Location(entry.path, 1)
        blob: _Entry | ConfigError | None = entry
        if entry.mode == _SYMLINK_MODE:
            blob = _follow(entry, by_path, folders, link_texts)
        if blob is None:
            continue
        if isinstance(blob, ConfigError):
            errors.append(blob)
            continue
        if blob.kind != "blob":
            continue  # a submodule: not part of this repository's content
        if blob.size is not None and blob.size > MAX_FILE_BYTES:
            errors.append(ConfigError(start, "", f"file is {blob.size} bytes, over the {MAX_FILE_BYTES} byte "
                                      "limit; split it into several files"))
            continue
        wanted.append((entry, blob))

    contents = _cat_blobs(repo, [blob.object for entry, blob in wanted if (entry.path, blob.object) not in cache])
    documents: list[Document] = []
    files = 0
    for entry, blob in wanted:
        key = (entry.path, blob.object)
        if key not in cache:
            cache[key] = _parse(contents[blob.object], entry.path)
        readable, file_documents, file_errors = cache[key]
        files += readable
        documents.extend(file_documents)
        errors.extend(file_errors)
    return LoadResult(documents, errors, files)


def _parse(data: bytes, path: str) -> tuple[bool, list[Document], list[ConfigError]]:
    text = _decode(data, Location(path, 1))
    if isinstance(text, ConfigError):
        return False, [], [text]
    documents, errors = parse_documents(text, path)
    return True, documents, errors


def _parents(path: str) -> list[str]:
    parents = []
    while path:
        path = posixpath.dirname(path)
        if path:
            parents.append(path)
    return parents


def _follow(entry: _Entry, by_path: dict[str, _Entry], folders: set[str],
            link_texts: dict[str, str]) -> _Entry | ConfigError | None:
    """Follow a chain of symlinks inside the tree; the blob at its end, None for a folder, or why not."""
    start = Location(entry.path, 1)
    seen: set[str] = set()
    current = entry
    while current.mode == _SYMLINK_MODE:
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


# -- following a remote branch (the in-cluster controller) -----------------------------------------------------------
#
# Every operation is one short-lived `git` process on a bare, shallow, single-branch mirror: a long-running
# controller keeps no git library state between fetches (GitPython's caches and persistent `git cat-file` processes
# grow in long-lived processes), and a credential never appears on a command line, in a log or in a stored config.

FETCH_DEPTH = 100  # history fetched with each update: enough to tell a fast-forward from a force-push
DEFAULT_TOKEN_USER = "x-access-token"  # GitHub's user name for tokens; GitLab accepts any name with a token
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s]+)@")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/environments.git


def redact(text: str) -> str:
    """``text`` with every credential written into a URL replaced by ``***`` (an ssh user name stays)."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        user, colon, _ = userinfo.partition(":")
        return f"{scheme}{user}:***@" if colon else match[0]

    return _URL_USERINFO.sub(hide, text)


@dataclass(frozen=True)
class Remote:
    """The repository to follow and how to authenticate to it; ``url`` itself never holds a credential."""

    url: str
    branch: str = "main"
    token: str | None = field(default=None, repr=False)
    username: str = DEFAULT_TOKEN_USER
    ssh_key: Path | None = None
    known_hosts: Path | None = None

    @classmethod
    def parse(cls, url: str, branch: str = "main", *, token: str | None = None, ssh_key: Path | None = None,
              known_hosts: Path | None = None) -> Remote:
        """A remote from what a user passes: a credential written into an https URL is moved out of it, and a
        local path is made absolute."""
        username = DEFAULT_TOKEN_USER
        match = _URL_USERINFO.match(url)
        if match and match["scheme"].lower().startswith("http"):
            url = match["scheme"] + url[match.end():]
            user, colon, password = (unquote(part) for part in match["userinfo"].partition(":"))
            if colon:
                username, token = user, token or password
            else:
                token = token or user  # https://TOKEN@host/org/repo.git
        elif "://" not in url and not _SCP_LIKE.match(url):
            url = str(Path(url).expanduser().resolve())
        return cls(url, branch, token, username, ssh_key, known_hosts)

    @property
    def shown(self) -> str:
        return redact(self.url)

    def environment(self) -> dict[str, str]:
        """The environment of every git process: no prompt, the token as an HTTP header scoped to this URL (passed
        through GIT_CONFIG_* variables, never argv), and ssh with the given key and known_hosts."""
        env = dict(os.environ)
        env["GIT_TERMINAL_PROMPT"] = "0"
        if self.token and self.url.lower().startswith(("http://", "https://")):
            index = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
            credentials = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
            env[f"GIT_CONFIG_KEY_{index}"] = f"http.{self.url}.extraHeader"
            env[f"GIT_CONFIG_VALUE_{index}"] = f"Authorization: Basic {credentials}"
            env["GIT_CONFIG_COUNT"] = str(index + 1)
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        if self.ssh_key:
            ssh += ["-i", str(self.ssh_key), "-o", "IdentitiesOnly=yes"]
        if self.known_hosts:
            ssh += ["-o", f"UserKnownHostsFile={self.known_hosts}"]
        ssh += ["-o", f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}"]
        env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        return env


@dataclass(frozen=True)
class Update:
    """What a fetch found: the branch's commit, the one before, and whether the branch was rewritten."""

    commit: str
    previous: str | None
    forced: bool  # the new commit does not descend from the previous one (within FETCH_DEPTH commits)


class Mirror:
    """A bare, shallow, single-branch copy of one remote branch, updated with short-lived git processes."""

    def __init__(self, remote: Remote, directory: Path, *, depth: int = FETCH_DEPTH,
                 timeout: float = GIT_TIMEOUT_SECONDS, check_timeout: float = CHECK_TIMEOUT_SECONDS) -> None:
        self.remote = remote
        self.directory = directory
        self.depth = depth
        self.timeout = timeout
        self.check_timeout = check_timeout
        self.head: str | None = None
        self._env = remote.environment()

    @property
    def ref(self) -> str:
        return f"refs/remotes/origin/{self.remote.branch}"

    def _git(self, *args: str, check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
        # http: a transfer that stalls below 1 KB/s for 10 s is abandoned instead of hanging to the timeout.
        command = ["git", "-C", str(self.directory), "-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false",
                   "-c", "http.lowSpeedLimit=1000", "-c", f"http.lowSpeedTime={CONNECT_TIMEOUT_SECONDS}", *args]
        timeout = timeout or self.timeout
        try:
            completed = subprocess.run(command, capture_output=True, timeout=timeout, env=self._env,
                                       stdin=subprocess.DEVNULL, check=False)
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH; the reconciler runs git to follow a branch") from exc
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} of {self.remote.shown}: no answer within {timeout:.0f}s; check that the "
                           "host is reachable from here (DNS, firewall, proxy) and the URL is right") from exc
        if check and completed.returncode != 0:
            text = redact(completed.stderr.decode("utf-8", "replace"))
            if self.remote.token:
                text = text.replace(self.remote.token, "***")
            raise GitError(f"git {args[0]} of {self.remote.shown} (branch {self.remote.branch}) failed: "
                           f"{git_reason(text, completed.returncode)}")
        return completed

    def ls_remote(self) -> str:
        """The commit the branch points to on the remote: one round trip, no objects transferred."""
        self.directory.mkdir(parents=True, exist_ok=True)
        wanted = f"refs/heads/{self.remote.branch}"
        listing = self._git("ls-remote", "--heads", "--", self.remote.url, wanted,
                            timeout=self.check_timeout).stdout.decode()
        for line in listing.splitlines():
            commit, _, ref = line.partition("\t")
            if ref == wanted:
                return commit
        raise GitError(f"branch {self.remote.branch} does not exist in {self.remote.shown}; check --branch")

    def fetch(self) -> Update:
        """Fetch the branch's tip (shallow: one commit at first, then at most ``depth``) and say how it moved."""
        if not (self.directory / "HEAD").is_file():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", "--bare")
        depth = 1 if self.head is None else self.depth
        self._git("fetch", "--quiet", "--no-tags", "--no-recurse-submodules", f"--depth={depth}", "--",
                  self.remote.url, f"+refs/heads/{self.remote.branch}:{self.ref}")
        commit = self._git("rev-parse", "--verify", f"{self.ref}^{{commit}}").stdout.decode().strip()
        previous = self.head
        forced = previous is not None and commit != previous and self._git(
            "merge-base", "--is-ancestor", previous, commit, check=False).returncode != 0
        self.head = commit
        return Update(commit, previous, forced)

    def has(self, commit: str) -> bool:
        """Whether the mirror holds ``commit``, fetching it alone when its shallow history does not reach it (a
        commit the remote no longer has, or a server that refuses fetches by commit id, is not held)."""
        if self._git("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0:
            return True
        fetched = self._git("fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--depth=1", "--",
                            self.remote.url, commit, check=False)
        return fetched.returncode == 0 and self._git(
            "cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0

    def checkout(self, commit: str, into: Path) -> Path:
        """Write ``commit``'s files into the new folder ``into`` and make them read-only."""
        if not self._git("ls-tree", "--name-only", commit).stdout.strip():
            raise GitError(f"revision {commit[:12]} of {self.remote.shown} has no files (an empty commit tree); "
                           "push a commit with the environments repository's YAML files")
        into.mkdir(parents=True)
        command = ["git", "-C", str(self.directory), "archive", "--format=tar", commit]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=self._env) as process:
            assert process.stdout is not None and process.stderr is not None
            try:
                with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                    archive.extractall(into, filter="data")  # refuses absolute paths and links leaving the tree
            except tarfile.TarError as exc:
                process.kill()
                raise GitError(f"revision {commit[:12]} cannot be checked out safely: {exc}") from exc
            finally:
                reason = process.stderr.read().decode("utf-8", "replace").strip()
            if process.wait(timeout=self.timeout) != 0:
                raise GitError(f"git archive {commit[:12]} failed: {reason}")
        _make_read_only(into)
        return into


def git_reason(stderr: str, status: int) -> str:
    """What git said, every line joined: the last line alone is often half a sentence ("and the repository
    exists.")."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return f"exit status {status}"
    return " ".join(dict.fromkeys(lines))[:500]


def _make_read_only(root: Path) -> None:
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o444)
        os.chmod(directory, 0o555)


def remove_tree(root: Path) -> None:
    """Remove a read-only tree made by :meth:`Mirror.checkout` (its folders are made writable first)."""
    if not root.exists():
        return
    for directory, _, _ in os.walk(root):
        os.chmod(directory, 0o755)
    shutil.rmtree(root)
