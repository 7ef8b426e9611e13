"""Following one branch of a remote for the in-cluster controller: a bare, shallow, single-branch mirror.

A cheap ``ls-remote`` check, a shallow single-branch fetch, and a read-only tree per revision, each one short-lived
git process run by :class:`reconciler.source.git.Git` with the credential passed in its environment, never argv.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from reconciler.source.git import GIT_TIMEOUT_SECONDS, URL_USERINFO, Git, GitError, redact

CHECK_TIMEOUT_SECONDS = 15.0  # ls-remote is one round trip: a remote silent this long is unreachable
CONNECT_TIMEOUT_SECONDS = 10
FETCH_DEPTH = 100  # history fetched with each update: enough to tell a fast-forward from a force-push
DEFAULT_TOKEN_USER = "x-access-token"  # GitHub's user name for tokens; GitLab accepts any name with a token
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/environments.git
# http: a transfer that stalls below 1 KB/s for 10 s is abandoned instead of hanging to the timeout.
_OPTIONS = ("-c", "gc.autoDetach=false", "-c", "maintenance.autoDetach=false", "-c", "http.lowSpeedLimit=1000",
            "-c", f"http.lowSpeedTime={CONNECT_TIMEOUT_SECONDS}")
# What git says when the remote wants credentials it was not given, or refused those it was given: the flag to fix.
# A token travels as a header, so a remote that refuses it asks for a user name as if none had been given.
_ASKED = ("the remote asks for credentials: give a token with --git-token-file (or $RECONCILER_GIT_TOKEN) for https, "
          "or use an ssh URL with --ssh-key")
_REFUSED = ("the remote refused the token: check --git-token-file (and --git-username), and that the token may read "
            "this repository")
_SSH_HINTS = (
    ("permission denied (publickey", "the ssh server refused the key: check --ssh-key, and that the key may read "
     "this repository"),
    ("host key verification failed", "the ssh server's host key is not known: add it to the file given with "
     "--known-hosts"),
)


def _hints(remote: Remote) -> tuple[tuple[str, str], ...]:
    refused = remote.token is not None
    return (("terminal prompts disabled", _REFUSED if refused else _ASKED), ("authentication failed", _REFUSED),
            *_SSH_HINTS)


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
        match = URL_USERINFO.match(url)
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
        self._git = Git(directory, f"of {remote.shown}", "check that the host is reachable from here (DNS, firewall, "
                        "proxy) and the URL is right", context=f" (branch {remote.branch})", options=_OPTIONS,
                        env=remote.environment(), secret=remote.token, timeout=timeout, hints=_hints(remote))

    @property
    def ref(self) -> str:
        return f"refs/remotes/origin/{self.remote.branch}"

    def ls_remote(self) -> str:
        """The commit the branch points to on the remote: one round trip, no objects transferred."""
        self.directory.mkdir(parents=True, exist_ok=True)
        wanted = f"refs/heads/{self.remote.branch}"
        listing = self._git.run("ls-remote", "--heads", "--", self.remote.url, wanted,
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
            self._git.run("init", "--quiet", "--bare")
        depth = 1 if self.head is None else self.depth
        self._git.run("fetch", "--quiet", "--no-tags", "--no-recurse-submodules", f"--depth={depth}", "--",
                      self.remote.url, f"+refs/heads/{self.remote.branch}:{self.ref}")
        commit = self._git.output("rev-parse", "--verify", f"{self.ref}^{{commit}}").decode().strip()
        previous = self.head
        forced = previous is not None and commit != previous and not self._git.succeeds(
            "merge-base", "--is-ancestor", previous, commit)
        self.head = commit
        return Update(commit, previous, forced)

    def has(self, commit: str) -> bool:
        """Whether the mirror holds ``commit``, fetching it alone when its shallow history does not reach it (a
        commit the remote no longer has, or a server that refuses fetches by commit id, is not held)."""
        if self._git.succeeds("cat-file", "-e", f"{commit}^{{commit}}"):
            return True
        return (self._git.succeeds("fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--depth=1", "--",
                                   self.remote.url, commit)
                and self._git.succeeds("cat-file", "-e", f"{commit}^{{commit}}"))

    def checkout(self, commit: str, into: Path) -> Path:
        """Write ``commit``'s files into the new folder ``into`` and make them read-only."""
        if not self._git.output("ls-tree", "--name-only", commit).strip():
            raise GitError(f"revision {commit[:12]} of {self.remote.shown} has no files (an empty commit tree); "
                           "push a commit with the environments repository's YAML files")
        into.mkdir(parents=True)
        # Streamed: a revision's tree is not held in memory whole on its way to the disk.
        with subprocess.Popen(self._git.command("archive", "--format=tar", commit), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=self._git.environment()) as process:
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
