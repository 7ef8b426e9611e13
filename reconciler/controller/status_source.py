"""What the controller's status says of its source: the branch as last checked and fetched, and the fate of its
revisions (valid, invalid, held for a signature or a risk finding). :class:`reconciler.controller.status.Status`
adds the clusters; both count their events in :mod:`reconciler.controller.metrics`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.controller.metrics import Metrics

if TYPE_CHECKING:
    from reconciler.source.signatures import Verdict


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SourceStatus:
    """Written by the source loop, read (under the same lock) by the HTTP server."""

    def __init__(self, repository: str, branch: str, path: str) -> None:
        self._lock = threading.Lock()
        self.metrics = Metrics()
        self.source: dict[str, Any] = {"repository": repository, "branch": branch, "path": path or ".",
                                       "remoteHead": None, "lastCheckTime": None, "head": None,
                                       "lastFetchTime": None, "lastFetchError": None, "forcePushes": 0,
                                       "lastForcePush": None}
        self.revision: str | None = None  # the last valid revision, being applied
        self.bad_revision: dict[str, Any] | None = None
        self.held_revision: dict[str, Any] | None = None  # the branch's head, not applied, and why
        self._version = 0  # changes of what /status shows so far
        self._shown: tuple[int, str] | None = None  # /status as last built, and the version it was built at

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        """The lock, for a change of what /status shows."""
        with self._lock:
            self._version += 1
            yield

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.metrics.count(name, amount, **labels)

    def checked(self, head: str) -> None:
        """The branch was looked at (ls-remote) and points to ``head``."""
        with self._changing():
            self.source.update(remoteHead=head, lastCheckTime=now_text(), lastFetchError=None)
        self.count("reconciler_git_checks_total")

    def fetched(self, head: str, forced_from: str | None = None) -> None:
        with self._changing():
            self.source.update(head=head, lastFetchTime=now_text(), lastFetchError=None)
            if forced_from:
                self.source["forcePushes"] += 1
                self.source["lastForcePush"] = {"from": forced_from, "to": head, "at": now_text()}
        self.count("reconciler_git_fetches_total")
        if forced_from:
            self.count("reconciler_git_force_pushes_total")

    def fetch_failed(self, error: str) -> None:
        with self._changing():
            self.source.update(lastFetchError=error, lastFetchTime=now_text())
        self.count("reconciler_git_fetch_errors_total")

    def revision_valid(self, revision: str) -> None:
        with self._changing():
            self.revision = revision
            self.held_revision = None

    def require_signatures(self, allowed_signers: Path | None, gpg_keys: Path | None) -> None:
        with self._changing():
            self.source["signatures"] = {"required": True,
                                         "allowedSigners": str(allowed_signers) if allowed_signers else None,
                                         "gpgKeys": str(gpg_keys) if gpg_keys else None, "lastVerified": None}

    def signature_verified(self, verdict: Verdict) -> None:
        with self._changing():
            self.source["signatures"]["lastVerified"] = {"revision": verdict.commit, "signer": verdict.signer,
                                                         "key": verdict.key, "at": now_text()}
        self.count("reconciler_signatures_verified_total")

    def signature_held(self, verdict: Verdict) -> None:
        """A commit that no listed key signed: shown until a later commit is applied, counted by reason."""
        with self._changing():
            self.held_revision = {"revision": verdict.brought_by or verdict.commit, "cause": "signature",
                                  "reason": verdict.reason, "commit": verdict.commit,
                                  "signer": verdict.signer or None, "key": verdict.key or None,
                                  "message": verdict.describe(), "keptRevision": self.revision, "seenAt": now_text()}
        self.count("reconciler_revisions_held_total", cause="signature", reason=str(verdict.reason))

    def revision_held(self, revision: str, findings: list[str]) -> None:
        """A valid revision that the risk rules block: not applied until a later commit resolves the findings."""
        with self._changing():
            self.held_revision = {"revision": revision, "cause": "risk", "reason": "blocking-finding",
                                  "findings": findings, "message": "; ".join(findings),
                                  "keptRevision": self.revision, "seenAt": now_text()}
        self.count("reconciler_revisions_held_total", cause="risk", reason="blocking-finding")

    def revision_invalid(self, revision: str, errors: list[str]) -> None:
        with self._changing():
            self.bad_revision = {"revision": revision, "errors": errors, "seenAt": now_text()}
        self.count("reconciler_invalid_revisions_total")
