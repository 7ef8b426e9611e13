"""An HTTP server that a client without credentials cannot exhaust.

``ThreadingHTTPServer`` gives every connection a thread for as long as the client keeps it open, so idle
connections or a body announced and never sent pile up threads without bound. Here a connection waits in a
selector, holding no thread, until its whole request head (request line and headers) has arrived: a client that
sends a request line and then nothing, or one byte a second, costs a buffer in the loop, never a worker. Only a
complete head is handed to one of a fixed pool of workers, which reads a body (the webhook's alone) under a read
timeout per receive and a deadline for the whole request, after which the loop shuts the socket down. Connections
are capped: when the cap is reached the oldest one still sending its head is closed to make room, so a probe still
gets in while hundreds of idle or trickling connections are open.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from http.server import HTTPServer
from typing import Any

from reconciler.controller.http_head import RECEIVE, LimitedHandler, PendingHead, serving, too_large

log = logging.getLogger("reconciler.server")


@dataclass(frozen=True)
class Limits:
    workers: int = 8  # threads serving requests
    max_connections: int = 64  # open connections, idle or served
    idle_timeout: float = 10.0  # a connection that has not sent its whole request head this long after it connected
    max_head: int = 32 * 1024  # bytes of request line and headers (a GitHub webhook call sends about 2 KiB)
    read_timeout: float = 5.0  # one receive of a request being served
    request_deadline: float = 15.0  # a whole request, however slowly it trickles in
    max_body: int = 1024 * 1024  # bytes a webhook body may have (GitHub's push payloads are far smaller)
    body_readers: int = 2  # webhook bodies read at the same time (see webhook.py); more are told to retry


class BoundedHTTPServer(HTTPServer):
    request_queue_size = 128  # the listen backlog: a burst of connects waits for accept instead of SYN retries

    def __init__(self, address: tuple[str, int], handler: type[LimitedHandler], limits: Limits) -> None:
        handler.timeout = limits.read_timeout  # StreamRequestHandler sets it on the socket
        super().__init__(address, handler)
        self.limits = limits
        # Started once, all of them: the thread count is the same under load as at rest.
        self._queue: queue.SimpleQueue[tuple[socket.socket, bytes] | None] = queue.SimpleQueue()
        self._workers = [threading.Thread(target=self._work, name=f"http-{n}", daemon=True)
                         for n in range(limits.workers)]
        self._waiting: dict[socket.socket, PendingHead] = {}  # accepted, its request head not complete yet
        self._active: dict[socket.socket, float] = {}  # handed to a worker: since when
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self.dropped = 0  # connections closed for idling, to make room, past their deadline or for a huge head

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        for worker in self._workers:
            worker.start()
        with selectors.DefaultSelector() as selector:
            self.socket.setblocking(False)
            selector.register(self.socket, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(poll_interval):
                    connection: Any = key.fileobj
                    if connection is self.socket:
                        self._accept(selector)
                    else:
                        self._receive(selector, connection)
                self._expire(selector)
            for connection in list(self._waiting):
                self._drop(selector, connection)
        self._stopped.set()

    def shutdown(self) -> None:
        self._stop.set()
        self._stopped.wait(timeout=5)
        for _ in self._workers:
            self._queue.put(None)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        for _ in range(self.request_queue_size):  # the whole backlog, not one connection per wake-up
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self._admit(selector, connection)

    def _admit(self, selector: selectors.BaseSelector, connection: socket.socket) -> None:
        with self._lock:
            full = len(self._waiting) + len(self._active) >= self.limits.max_connections
        if full and self._waiting:
            self._drop(selector, min(self._waiting, key=lambda c: self._waiting[c].since))  # the oldest one
        elif full:
            self.dropped += 1
            connection.close()  # every slot is being served: the client may retry
            return
        connection.setblocking(False)
        self._waiting[connection] = PendingHead(time.monotonic())
        selector.register(connection, selectors.EVENT_READ)

    def _drop(self, selector: selectors.BaseSelector, connection: socket.socket) -> None:
        selector.unregister(connection)
        del self._waiting[connection]
        self.dropped += 1
        connection.close()

    def _receive(self, selector: selectors.BaseSelector, connection: socket.socket) -> None:
        """Add what arrived to the connection's request head; hand a complete head to the workers."""
        try:
            chunk = connection.recv(RECEIVE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before its request was complete
            self._drop(selector, connection)
            return
        pending = self._waiting[connection]
        head = pending.add(chunk, self.limits.max_head)
        if head == "complete":
            self._dispatch(selector, connection, bytes(pending.received))
        elif head == "too large":
            with contextlib.suppress(OSError):
                connection.send(too_large(self.limits.max_head))  # best effort: the socket does not block
            self._drop(selector, connection)

    def _dispatch(self, selector: selectors.BaseSelector, connection: socket.socket, received: bytes) -> None:
        selector.unregister(connection)
        del self._waiting[connection]
        connection.setblocking(True)
        with self._lock:
            self._active[connection] = time.monotonic()
        self._queue.put((connection, received))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._serve(*item)

    def _serve(self, connection: socket.socket, received: bytes) -> None:
        serving(received)
        try:
            address = connection.getpeername()
            self.finish_request(connection, address)
        except OSError:
            pass  # the client went away, or the deadline shut the socket down
        except Exception:
            log.exception("error while serving an HTTP request")
        finally:
            with self._lock:
                self._active.pop(connection, None)
            self.shutdown_request(connection)

    def _expire(self, selector: selectors.BaseSelector) -> None:
        now = time.monotonic()
        for connection, pending in list(self._waiting.items()):
            if now - pending.since > self.limits.idle_timeout:
                self._drop(selector, connection)
        with self._lock:
            late = [c for c, since in self._active.items() if now - since > self.limits.request_deadline]
        for connection in late:
            with self._lock:
                self._active.pop(connection, None)
            self.dropped += 1
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)  # the worker's blocked read returns at once


def body_length(header: str | None, limit: int) -> int | str:
    """The announced body length, or why the request is refused before anything is read."""
    try:
        length = int(header or "0")
    except ValueError:
        return f"Content-Length {header!r} is not a number"
    if length < 0:
        return f"Content-Length {length} is negative"
    if length > limit:
        return f"the body of {length} bytes is over the {limit} byte limit"
    return length
