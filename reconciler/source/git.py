"""Running git: one runner for every git process of the source stage, its errors, and redaction of credentials.

Every operation is one short-lived ``git`` process: a long-running controller keeps no git library state between
fetches (GitPython's caches and persistent ``git cat-file`` processes grow in long-lived processes), and a
credential never appears on a command line, in a log or in an error.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import ReconcilerError

GIT_TIMEOUT_SECONDS = 120
URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s]+)@")


class GitError(ReconcilerError):
    """A git command failed: not a repository, an unknown revision, an unreachable remote, or git is missing."""


def redact(text: str) -> str:
    """``text`` with every credential written into a URL replaced by ``***`` (an ssh user name stays)."""

    def hide(match: re.Match[str]) -> str:
        scheme, userinfo = match["scheme"], match["userinfo"]
        if scheme.lower().startswith("http"):
            return f"{scheme}***@"
        user, colon, _ = userinfo.partition(":")
        return f"{scheme}{user}:***@" if colon else match[0]

    return URL_USERINFO.sub(hide, text)


def git_reason(stderr: str, status: int) -> str:
    """What git said, every line joined: the last line alone is often half a sentence ("and the repository
    exists.")."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    if not lines:
        return f"exit status {status}"
    return " ".join(dict.fromkeys(lines))[:500]


@dataclass(frozen=True)
class Git:
    """How to run git in one directory, and how its errors name the place: ``subject`` ("in /srv/envs", "of
    https://host/envs.git"), ``context`` added to failures (" (branch main)"), ``unreachable`` the advice when git
    does not answer in time. ``secret`` is hidden from every error."""

    directory: Path
    subject: str
    unreachable: str
    context: str = ""
    options: tuple[str, ...] = ()  # ``-c key=value`` pairs given to every command
    env: Mapping[str, str] | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    timeout: float = GIT_TIMEOUT_SECONDS
    hints: tuple[tuple[str, str], ...] = ()

    def command(self, *args: str) -> list[str]:
        return ["git", "-C", str(self.directory), *self.options, *args]

    def run(self, *args: str, stdin: bytes | None = None, check: bool = True,
            timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run ``git args``; a failure (when ``check``), a timeout or a missing git raise :class:`GitError`."""
        timeout = timeout or self.timeout
        try:
            completed = subprocess.run(self.command(*args), input=stdin, capture_output=True, timeout=timeout,
                                       env=self.environment(),
                                       stdin=None if stdin is not None else subprocess.DEVNULL, check=False)
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH; install git: the reconciler runs it to read and "
                           "follow the environments repository") from exc
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} {self.subject}: no answer within {timeout:.0f}s; "
                           f"{self.unreachable}") from exc
        if check and completed.returncode != 0:
            said = self.hidden(completed.stderr.decode("utf-8", "replace"))
            advice = next((f"; {hint}" for words, hint in self.hints if words in said.lower()), "")
            raise GitError(f"git {args[0]} {self.subject}{self.context} failed: "
                           f"{git_reason(said, completed.returncode)}{advice}")
        return completed

    def environment(self) -> dict[str, str] | None:
        return None if self.env is None else dict(self.env)

    def output(self, *args: str, stdin: bytes | None = None) -> bytes:
        return self.run(*args, stdin=stdin).stdout

    def succeeds(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0

    def hidden(self, text: str) -> str:
        text = redact(text)
        return text.replace(self.secret, "***") if self.secret else text
