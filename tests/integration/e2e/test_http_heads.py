"""The controller's HTTP server under clients that send part of a request, without credentials: a request line and
then nothing, a header byte a second, connections each holding half a request line, a head over the limit,
hundreds of pipelined requests, a chunked webhook body, a body of a terabyte announced to every other endpoint.
None of them holds one of the server's workers (before, 8 connections that sent a request line and nothing kept
/healthz from answering until their 5 s read timeout, and a byte a second held a worker for the whole 15 s request
deadline): /healthz answers at once throughout, the thread count stays, and the server closes every such
connection within its idle timeout. Every socket has a timeout, so the test ends by itself."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import socket
import threading
import time
from pathlib import Path

import pytest

from reconciler.controller.http_limits import Limits
from testenv import controlplane

from .conftest import WEBHOOK_SECRET
from .harness import ControllerProcess

pytestmark = pytest.mark.integration

LINE_ONLY, DRIP, HALF_LINE = 16, 16, 28  # 60 connections, under the server's cap of 64
WATCHED = 7.0  # seconds of /healthz probes: longer than the 5 s read timeout that used to free the workers


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    """A control plane of its own: other tests' namespaces, deleted after them, change objects the controller
    watches, and every such change starts a converge, whose threads and CPU would count in what is measured here."""
    return own_control_plane.kubeconfig


def connect(controller: ControllerProcess, sent: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", controller.port), timeout=30)
    sock.settimeout(30)
    sock.sendall(sent)
    return sock


def received(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def exchange(controller: ControllerProcess, request: bytes) -> bytes:
    with contextlib.closing(connect(controller)) as sock:
        with contextlib.suppress(OSError):  # the server may close before reading all of a refused request
            sock.sendall(request)
        return received(sock)


def healthz_seconds(controller: ControllerProcess) -> float:
    began = time.monotonic()
    assert controller.get("/healthz") == (200, "ok\n"), "/healthz must answer"
    return time.monotonic() - began


def drip(sockets: list[socket.socket], stop: threading.Event) -> None:
    """One header byte a second on each socket, never the empty line that ends the head."""
    while not stop.wait(1.0):
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.send(b"X")


def test_partial_requests_hold_no_worker(webhook_controller: ControllerProcess) -> None:
    controller = webhook_controller
    threads_before = controller.threads()
    limits = Limits()
    stop = threading.Event()
    opened: list[socket.socket] = []
    try:
        began = time.monotonic()
        opened += [connect(controller, b"GET /status HTTP/1.1\r\n") for _ in range(LINE_ONLY)]
        dripping = [connect(controller, b"GET /metrics HTTP/1.1\r\nX-Slow: ") for _ in range(DRIP)]
        opened += dripping
        opened += [connect(controller, b"GET /sta") for _ in range(HALF_LINE)]
        threading.Thread(target=drip, args=(dripping, stop), daemon=True).start()
        slowest = 0.0
        while time.monotonic() - began < WATCHED:
            slowest = max(slowest, healthz_seconds(controller))
            assert controller.threads() <= threads_before + 1, "no thread per connection"
            time.sleep(0.5)
        print(f"\n{len(opened)} partial requests open for {WATCHED}s: /healthz answered in {slowest:.3f}s at worst, "
              f"threads {threads_before} -> {controller.threads()}")
        assert slowest < 1.0
        for sock in opened:
            received(sock)
        closed = time.monotonic() - began
        print(f"every partial request closed by the server {closed:.1f}s after the first was opened")
        assert closed <= limits.idle_timeout + 3, "a byte a second must not keep a connection open"
    finally:
        stop.set()
        for sock in opened:
            sock.close()

    head = exchange(controller, b"GET /status HTTP/1.1\r\nX-Big: " + b"a" * (limits.max_head + 1) + b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 431 ") and b"over 32768 bytes" in head, head[:200]
    many = exchange(controller, b"GET /status HTTP/1.1\r\n" + b"X-A: a\r\n" * 200 + b"\r\n")
    assert many.startswith(b"HTTP/1.0 431 Too many headers"), many[:200]
    pipelined = exchange(controller, b"GET /healthz HTTP/1.1\r\nConnection: keep-alive\r\n\r\n" * 1000)
    assert pipelined.count(b"HTTP/1.0 200 OK") == 1, "one answer per connection, whatever is pipelined after it"
    body = b'{"ref": "refs/heads/main"}'
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    chunked = exchange(controller, (f"POST /hooks/git HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                    f"X-Hub-Signature-256: {signature}\r\n\r\n{len(body):x}\r\n").encode() + body)
    assert chunked.startswith(b"HTTP/1.0 411 ") and b"needs a Content-Length" in chunked, chunked[:300]
    for method, path, code in (("POST", "/status", b"404"), ("POST", "/metrics", b"404"), ("PUT", "/hooks/git", b"501"),
                               ("GET", "/hooks/git", b"404")):
        began = time.monotonic()
        answer = exchange(controller, f"{method} {path} HTTP/1.1\r\nContent-Length: {10 ** 12}\r\n\r\n{{".encode())
        assert answer.startswith(b"HTTP/1.0 " + code) and time.monotonic() - began < 1.0, (method, path, answer[:100])
    assert controller.post_webhook(body, WEBHOOK_SECRET) == 202, "a signed call still gets through"
    assert healthz_seconds(controller) < 1.0
    assert controller.terminate() == 0
