"""What the running controller serves: /healthz, /readyz, /metrics (Prometheus text), /status (JSON), the status
page and the git webhook (POST /hooks/git, handled by :mod:`reconciler.controller.webhook`), within the limits of
:mod:`reconciler.controller.http_limits`. The handlers only read :class:`reconciler.controller.status.Status`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from reconciler.controller import metrics, statuspage
from reconciler.controller.http_head import LimitedHandler
from reconciler.controller.http_limits import BoundedHTTPServer, Limits
from reconciler.controller.status import Status
from reconciler.controller.webhook import Webhook
from reconciler.errors import ReconcilerError

log = logging.getLogger("reconciler.server")

# The page has no script and loads nothing: a value that escaped its escaping still could not run or call out.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


T = TypeVar("T")
FRESH_FOR = 0.1  # seconds a rendering of /status or /metrics is served again


class Fresh:
    """Values made at most once per ``fresh_for`` seconds each, by one thread at a time. A tight loop of requests
    for /status, the status page or /metrics then costs the controller at most ten renderings a second of each
    (a snapshot holds the lock the cluster workers record their progress under), not one per request."""

    def __init__(self, fresh_for: float = FRESH_FOR) -> None:
        self.fresh_for = fresh_for
        self._made: dict[str, tuple[float, Any]] = {}
        self._lock = threading.RLock()  # /status is made from the snapshot, itself kept here

    def get(self, key: str, make: Callable[[], T]) -> T:
        with self._lock:
            made = self._made.get(key)
            if made is None or time.monotonic() - made[0] >= self.fresh_for:
                made = self._made[key] = (time.monotonic(), make())
            value: T = made[1]
            return value


class Server:
    """The HTTP endpoints, served from a daemon thread."""

    def __init__(self, status: Status, address: str, *, trigger: Callable[[], None], webhook_secret: str | None,
                 stale_after: float) -> None:
        host, _, port = address.rpartition(":")
        self.status = status
        self.trigger = trigger
        self.webhook_secret = webhook_secret
        self.stale_after = stale_after
        try:
            self.httpd = BoundedHTTPServer((host or "0.0.0.0", int(port)), self._handler(), Limits())
        except (OSError, ValueError) as exc:
            raise ReconcilerError(f"cannot listen on {address!r} (--listen): {exc}") from exc
        self.webhook = Webhook(status, webhook_secret, trigger, self.httpd.limits)
        self.registry = metrics.registry(status.metrics, status.gauges)
        self.fresh = Fresh()
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()
        log.info("serving / /healthz /readyz /metrics /status /hooks/git", extra={"listen": self.address})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def snapshot(self) -> dict[str, Any]:
        return self.fresh.get("snapshot", self.status.snapshot)

    def _handler(self) -> type[LimitedHandler]:
        server = self

        class Handler(LimitedHandler):
            server_version = "reconciler"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http " + format % args)

            def _send(self, code: int, body: str, content_type: str = "text/plain; charset=utf-8",
                      headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                for header, value in (headers or {}).items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    alive = server.status.alive(server.stale_after)
                    self._send(200 if alive else 500, "ok\n" if alive else "the source loop is stuck\n")
                elif path == "/readyz":
                    ready = server.status.ready
                    self._send(200 if ready else 503, "ready\n" if ready else server.status.not_ready_reason())
                elif path == "/metrics":
                    exposition = server.fresh.get("metrics", lambda: metrics.exposition(server.registry))
                    self._send(200, exposition, metrics.CONTENT_TYPE)
                elif path == "/status":
                    # Built again only once something it shows changed, and at most ten times a second.
                    self._send(200, server.fresh.get("status", server.status.snapshot_json), "application/json")
                elif statuspage.serves(path):
                    code, page = statuspage.route(path, server.snapshot())
                    self._send(code, page, "text/html; charset=utf-8", PAGE_HEADERS)
                else:
                    self._send(404, "not found: try / /healthz /readyz /metrics /status\n")

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != "/hooks/git":
                    self._send(404, "not found: the webhook is POST /hooks/git\n")
                    return
                self.close_connection = True  # an unread body must not be taken for the next request
                self._send(*server.webhook.handle(self.headers, self.rfile, self.client_address[0]))

        return Handler
