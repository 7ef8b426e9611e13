"""The transport's kept connections against a real socket: a server's idle close racing a request, answers cut
short or stalled, 32 threads sharing one pool, and no descriptor left open after 10,000 requests or after errors."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.kube.wire import Wire
from tests.unit.wire_server import OK, serve


def _wire(port: int, size: int = 4) -> Wire:
    return Wire("127.0.0.1", port, None, "127.0.0.1", size)


def _get(wire: Wire, path: str = "/api/v1/pods", read: float = 3) -> tuple[int, bytes]:
    return wire.request("GET", path, {}, None, (3, read))


def test_a_kept_connection_reset_by_the_server_while_idle_is_retried_once_on_a_new_one() -> None:
    idle_timeout = threading.Event()

    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(OK)
        if server.connections > 1:
            return True
        idle_timeout.wait(3)
        # Closed with a TCP reset, as a load balancer dropping an idle connection does.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False
    with serve(handle) as server:
        wire = _wire(server.port)
        assert _get(wire) == (200, b"ok")
        idle_timeout.set()
        time.sleep(0.1)
        assert _get(wire) == (200, b"ok")
        assert server.connections == 2


@pytest.mark.parametrize("sent", [b"", b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
                                  b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", b"HTTP/1.1 200 OK\r\n"
                                  b"Content-Length: 40\r\n\r\n{\"items\":", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                  b"chunked\r\n\r\n10\r\n{\"items\""])
def test_an_answer_cut_short_fails_and_is_not_sent_again(sent: bytes) -> None:
    """Once the server may have acted on a request (it began to answer, or a fresh connection closed), the request
    is not repeated behind the caller's back: the error names what arrived."""
    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(sent)
        return False
    with serve(handle) as server:
        wire = _wire(server.port)
        with pytest.raises(OSError, match="closed the connection"):
            _get(wire)
        assert server.connections == 1
        assert wire._idle == []


@pytest.mark.parametrize("sent", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"items\":"])
def test_a_server_that_stops_answering_hits_the_read_deadline_and_its_connection_is_dropped(sent: bytes) -> None:
    """A half-open peer (it took the request and went silent) or a body stalled mid-way: the deadline ends the
    request and the connection, whose stream is in doubt, never goes back to the pool."""
    first: list[int] = []

    def handle(connection: socket.socket, _: bytes) -> None:
        if first:
            connection.sendall(OK)
            return
        first.append(1)
        connection.sendall(sent)
        time.sleep(1.5)
        connection.sendall(b"}")  # too late: the client must not read this as the start of its next answer
    with serve(handle) as server:
        wire = _wire(server.port)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            _get(wire, read=0.3)
        assert time.monotonic() - started < 1.0
        assert wire._idle == []
        assert _get(wire) == (200, b"ok")
        assert server.connections == 2


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _settled(baseline: int) -> int:
    """Descriptors once the server's side of closed connections has gone too (its threads end on their own)."""
    for _ in range(100):
        if _open_descriptors() <= baseline:
            break
        time.sleep(0.02)
    return _open_descriptors()


def test_thirty_two_threads_share_one_pool_each_connection_serves_one_request_at_a_time_and_nothing_leaks() -> None:
    overlapping: list[bytes] = []

    def handle(connection: socket.socket, head: bytes) -> None:
        time.sleep(0.0002)
        try:  # a second request on this connection before the first is answered would already be buffered here
            if connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                overlapping.append(head)
        except BlockingIOError:
            pass
        path = head.split(b" ")[1]
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(path), path))
    with serve(handle) as server:
        baseline = _open_descriptors()
        wire = _wire(server.port, size=32)

        def request(index: int) -> None:
            path = f"/api/v1/namespaces/n{index}/pods"
            assert _get(wire, path) == (200, path.encode()), "an answer went to the wrong request"
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(request, range(10_000)))
        assert overlapping == []
        assert server.connections <= 32
        assert len(wire._idle) <= 32
        wire.close()
        assert _settled(baseline) <= baseline


def test_errors_leave_no_descriptor_open() -> None:
    def handle(connection: socket.socket, head: bytes) -> bool:
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{" if b"/cut" in head else
                           b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        return False
    with serve(handle) as server:
        baseline = _open_descriptors()
        wire = _wire(server.port)
        for index in range(300):
            with pytest.raises(OSError):
                _get(wire, "/cut" if index % 2 else "/smuggle")
        refused = socket.create_server(("127.0.0.1", 0))
        port = refused.getsockname()[1]
        refused.close()
        for _ in range(300):
            with pytest.raises(OSError, match="refused"):
                _get(_wire(port))
        assert _settled(baseline) <= baseline


def test_a_connection_coming_back_after_close_is_closed_not_kept() -> None:
    """A rebuilt client closes its old transport while requests are in flight on it."""
    release = threading.Event()

    def handle(connection: socket.socket, _: bytes) -> None:
        release.wait(3)
        connection.sendall(OK)
    with serve(handle) as server:
        baseline = _open_descriptors()
        wire = _wire(server.port)
        in_flight = threading.Thread(target=_get, args=(wire,))
        in_flight.start()
        time.sleep(0.1)
        wire.close()
        release.set()
        in_flight.join()
        assert wire._idle == []
        assert _settled(baseline) <= baseline


def test_an_answer_sent_before_the_server_stopped_reading_the_body_is_the_result() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def refuse_big_bodies() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as reader:
            while reader.readline() not in (b"\r\n", b""):
                pass
            connection.sendall(b"HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\n"
                               b"Content-Length: 9\r\n\r\ntoo large")
    server = threading.Thread(target=refuse_big_bodies, daemon=True)
    server.start()
    wire = _wire(listener.getsockname()[1])
    assert wire.request("PATCH", "/api/v1/namespaces/n/configmaps/c", {}, b"x" * 64_000_000, (3, 3)) == \
        (413, b"too large")
    listener.close()


def test_an_answer_to_no_request_sent_on_an_idle_connection_is_not_taken_for_the_next_ones() -> None:
    """A proxy in front of the API server may answer 408 on a kept connection before its idle close."""
    timed_out = threading.Event()

    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(OK)
        if server.connections > 1:
            return True
        time.sleep(0.05)
        connection.sendall(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        timed_out.set()
        return True  # and it keeps the connection open a while, as a proxy's close may lag
    with serve(handle) as server:
        wire = _wire(server.port)
        assert _get(wire) == (200, b"ok")
        timed_out.wait(3)
        time.sleep(0.05)
        assert _get(wire) == (200, b"ok")
        assert server.connections == 2
