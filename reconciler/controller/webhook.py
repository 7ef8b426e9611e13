"""POST /hooks/git: a GitHub-style HMAC-signed call that makes the controller check the branch at once.

Everything that needs no body is checked before a byte of it is read (the secret configured, the signature header
present and well formed, ``Content-Length`` valid and small), and only a few bodies are read at a time, so a caller
without the secret cannot hold the server's threads. Calls are counted and logged at most once a minute each way
(refused, accepted), so they cannot flood the log either: not unsigned calls, nor a signed call replayed over and
over (GitHub's signature has no nonce; a replay costs one coalesced ``ls-remote``). The call only wakes the source
loop, which coalesces them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from email.message import Message
from typing import Protocol

from reconciler.controller.http_limits import Limits, body_length

log = logging.getLogger("reconciler.server")

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_FORM = re.compile(r"^sha256=[0-9a-f]{64}$")
REFUSED_LOG_GAP = 60.0  # seconds between two log lines about webhook calls of one outcome


class Counter(Protocol):
    def count(self, name: str, amount: float = 1.0, **labels: str) -> None: ...


class Body(Protocol):
    def read(self, size: int, /) -> bytes: ...


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """GitHub's X-Hub-Signature-256: ``sha256=`` and the hex HMAC-SHA256 of the body, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


class QuietLog:
    """A log line written at most once per ``gap`` seconds, counting the calls it stands for."""

    def __init__(self, level: int, message: str, counted: str, gap: float = REFUSED_LOG_GAP) -> None:
        self.level, self.message, self.counted, self.gap = level, message, counted, gap
        self._lock = threading.Lock()
        self._calls = 0
        self._written_at = -gap

    def note(self, **fields: object) -> None:
        with self._lock:
            self._calls += 1
            if time.monotonic() - self._written_at < self.gap:
                return
            calls, self._calls, self._written_at = self._calls, 0, time.monotonic()
        log.log(self.level, self.message, extra={**fields, self.counted: calls})


class Webhook:
    def __init__(self, status: Counter, secret: str | None, trigger: Callable[[], None], limits: Limits) -> None:
        self.status = status
        self.secret = secret
        self.trigger = trigger
        self.limits = limits
        self._readers = threading.BoundedSemaphore(limits.body_readers)
        self._refusals = QuietLog(logging.WARNING, "webhook calls refused (missing or wrong signature); counted in "
                                  "reconciler_webhook_requests_total{result=\"bad-signature\"}",
                                  "refusedSinceLastWarning")
        self._acceptances = QuietLog(logging.INFO, "webhook: checking the branch now", "acceptedSinceLastLine")

    def handle(self, headers: Message, body: Body, peer: str) -> tuple[int, str]:
        """The answer (status, text) to one call; reads the body only once nothing else is wrong."""
        if self.secret is None:
            self.status.count("reconciler_webhook_requests_total", result="disabled")
            return 403, "the webhook is disabled: start the reconciler with a webhook secret\n"
        signature = (headers.get(SIGNATURE_HEADER) or "").strip()
        if not _SIGNATURE_FORM.match(signature):
            return self._refused(peer, f"no {SIGNATURE_HEADER} of the form sha256=HEX",
                                 f"missing or malformed {SIGNATURE_HEADER}\n")
        if headers.get("Transfer-Encoding"):  # a body of unknown length: it could trickle in for ever
            return 411, ("a webhook call needs a Content-Length; a chunked body (Transfer-Encoding) is not "
                         "accepted\n")
        length = body_length(headers.get("Content-Length"), self.limits.max_body)
        if isinstance(length, str):
            return 413 if "limit" in length else 400, length + "\n"
        if not self._readers.acquire(blocking=False):
            self.status.count("reconciler_webhook_requests_total", result="busy")
            return 503, "busy: other webhook bodies are being read; retry\n"
        try:
            data = body.read(length)
        finally:
            self._readers.release()
        if len(data) != length or not signature_valid(self.secret, data, signature):
            return self._refused(peer, "the signature does not match the body",
                                 f"missing or wrong {SIGNATURE_HEADER}\n")
        self.status.count("reconciler_webhook_requests_total", result="accepted")
        self._acceptances.note(event=headers.get("X-GitHub-Event"), peer=peer)
        self.trigger()
        return 202, "fetch triggered\n"

    def _refused(self, peer: str, why: str, answer: str) -> tuple[int, str]:
        self.status.count("reconciler_webhook_requests_total", result="bad-signature")
        self._refusals.note(peer=peer, reason=why)
        return 401, answer
