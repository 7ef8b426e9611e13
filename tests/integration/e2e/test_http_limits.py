"""The controller's HTTP server under a client without credentials: 200 idle connections and 20 webhook calls that
announce a body and never send it leave the thread count bounded and /healthz answering; unsigned calls are
refused before their body is read, counted and not logged one by one; one signed call replayed in a burst is
coalesced into checks at least MIN_CHECK_GAP apart, and logged once. Loopback only; every socket has a timeout,
so the test ends by itself."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from pathlib import Path

import pytest

from reconciler.controller.http_limits import Limits
from reconciler.controller.loop import MIN_CHECK_GAP
from testenv import controlplane

from .conftest import WEBHOOK_SECRET
from .harness import ControllerProcess

pytestmark = pytest.mark.integration

IDLE, SLOW = 200, 20
FAKE_SIGNATURE = "sha256=" + "0" * 64


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    """A control plane of its own: other tests' namespaces, deleted after them, change objects the controller
    watches, and every such change starts a converge, whose threads and CPU would count in what is measured here."""
    return own_control_plane.kubeconfig


def connect(controller: ControllerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", controller.port), timeout=30)
    sock.settimeout(30)
    return sock


def answer(sock: socket.socket, request: bytes) -> str:
    sock.sendall(request)
    return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def post(headers: str) -> bytes:
    return f"POST /hooks/git HTTP/1.1\r\nHost: test\r\n{headers}\r\n".encode()


def closed_by_server(sock: socket.socket) -> bool:
    try:
        while sock.recv(4096):
            pass  # a refusal, then the end
    except OSError:
        return True
    return True


def test_idle_connections_and_slow_bodies_do_not_exhaust_the_server(webhook_controller: ControllerProcess) -> None:
    controller = webhook_controller
    threads_before = controller.threads()
    limits = Limits()
    opened: list[socket.socket] = []
    try:
        began = time.monotonic()
        idle = [connect(controller) for _ in range(IDLE)]
        opened += idle
        slow = []
        for _ in range(SLOW):
            sock = connect(controller)
            sock.sendall(post(f"Content-Length: 100000\r\nX-Hub-Signature-256: {FAKE_SIGNATURE}\r\n") + b"{")
            slow.append(sock)
        opened += slow
        time.sleep(0.5)
        threads = controller.threads()
        print(f"\nthreads: {threads_before} before, {threads} with {IDLE} idle connections and {SLOW} slow bodies")
        assert threads <= threads_before + 1, "the server's workers are all started at its start"
        assert controller.get("/healthz") == (200, "ok\n"), "/healthz must answer"

        # Refused before the body is read: no signature, a negative length, a body over the limit.
        for headers, expected in ((f"Content-Length: {10 ** 9}\r\n", "401"),
                                  (f"Content-Length: -1\r\nX-Hub-Signature-256: {FAKE_SIGNATURE}\r\n", "400"),
                                  (f"Content-Length: {10 ** 9}\r\nX-Hub-Signature-256: {FAKE_SIGNATURE}\r\n", "413")):
            with contextlib.closing(connect(controller)) as sock:
                status = answer(sock, post(headers))
                assert status.split()[1] == expected, (headers, status)

        # Slow bodies are cut off (a read timeout, then the request deadline), idle connections closed.
        for sock in slow + idle:
            assert closed_by_server(sock)
        waited = time.monotonic() - began
        print(f"every connection closed by the server {waited:.1f}s after the first was opened")
        assert waited <= max(limits.idle_timeout, limits.request_deadline) + 5
        assert controller.get("/healthz") == (200, "ok\n")
    finally:
        for sock in opened:
            sock.close()

    metrics = controller.metrics()
    assert metrics['reconciler_webhook_requests_total{result="bad-signature"}'] >= 1  # the unsigned call
    assert metrics['reconciler_webhook_requests_total{result="busy"}'] >= SLOW - limits.body_readers
    warnings = [line for line in controller.logs() if "webhook calls refused" in str(line.get("message"))]
    assert len(warnings) == 1, "refused calls are counted, and logged at most once a minute"

    # A burst of signed calls: one check in flight, at least a second apart.
    checks = metrics["reconciler_git_checks_total"]
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    burst = time.monotonic()
    assert all(controller.post_webhook(body, WEBHOOK_SECRET) == 202 for _ in range(20))
    time.sleep(2.5)
    elapsed = time.monotonic() - burst
    ran = controller.metrics()["reconciler_git_checks_total"] - checks
    print(f"20 signed webhook calls in {elapsed:.1f}s made {ran:.0f} checks of the branch")
    assert 1 <= ran <= elapsed / MIN_CHECK_GAP + 1
    accepted = [line for line in controller.logs() if line.get("message") == "webhook: checking the branch now"]
    assert len(accepted) == 1, "a signed call replayed 20 times is logged once (it was once per call)"
    assert controller.terminate() == 0
