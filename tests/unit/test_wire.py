"""The keep-alive HTTP/1.1 transport, against a real local socket server: framing, reuse, a kept connection the
server closed while idle, and how a server that does not answer fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from reconciler.kube.wire import ConnectError, Wire

Answer = Callable[[bytes], bytes | None]  # the request's head -> the raw response (None: close without answer)
Server = tuple[int, list[Answer], list[int]]


@pytest.fixture
def server() -> Iterator[Server]:
    """A server that answers each request with the next answer given; the third value counts its connections."""
    listener = socket.create_server(("127.0.0.1", 0))
    answers: list[Answer] = []
    accepted: list[int] = []

    def serve(connection: socket.socket) -> None:
        with connection, connection.makefile("rb") as reader:
            while answers:
                head = b"".join(iter(lambda: reader.readline(), b"\r\n"))
                if not head:
                    return
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                reader.read(length)
                response = answers.pop(0)(head)
                if response is None:
                    return
                connection.sendall(response)

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1], answers, accepted
    listener.close()


def _wire(port: int) -> Wire:
    return Wire("127.0.0.1", port, None, "127.0.0.1", 4)


def test_bodies_framed_by_length_and_by_chunks_are_read_whole_over_one_connection(server: Server) -> None:
    port, answers, accepted = server
    answers.extend([lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
                    lambda _: b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"3\r\n{\"b\r\n4\r\n\":2}\r\n0\r\n\r\n"])
    wire = _wire(port)
    assert wire.request("GET", "/api/v1/namespaces", {"Accept": "application/json"}, None, (3, 3)) == (200, b'{"a":1}')
    assert wire.request("PATCH", "/api/v1/namespaces/x", {}, b"{}", (3, 3)) == (201, b'{"b":2}')
    assert len(accepted) == 1, "the second request reused the kept connection"


def test_a_kept_connection_closed_while_idle_is_retried_once_on_a_new_one(server: Server) -> None:
    port, answers, accepted = server
    answers.extend([lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", lambda _: None,
                    lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    wire = _wire(port)
    wire.request("GET", "/a", {}, None, (3, 3))
    assert wire.request("GET", "/b", {}, None, (3, 3)) == (200, b"ok")
    assert len(accepted) == 2


def test_connection_close_is_not_kept(server: Server) -> None:
    port, answers, accepted = server
    answers.extend([lambda _: b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno",
                    lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    wire = _wire(port)
    assert wire.request("DELETE", "/x", {}, None, (3, 3)) == (403, b"no")
    assert wire.request("GET", "/y", {}, None, (3, 3)) == (200, b"")
    assert len(accepted) == 2


def test_the_host_and_headers_are_sent_as_given(server: Server) -> None:
    port, answers, _ = server
    seen: list[bytes] = []
    answers.append(lambda head: seen.append(head) or b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    _wire(port).request("PATCH", "/apis/apps/v1/x?fieldManager=reconciler", {"Authorization": "Bearer t"}, b"{}",
                        (3, 3))
    assert seen[0].split(b"\r\n")[:4] == [b"PATCH /apis/apps/v1/x?fieldManager=reconciler HTTP/1.1",
                                          f"Host: 127.0.0.1:{port}".encode(), b"Authorization: Bearer t",
                                          b"Content-Length: 2"]


def test_a_server_that_does_not_answer_times_out_and_one_not_listening_is_not_reached() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog) but never answers
    with pytest.raises(TimeoutError) as silent:
        _wire(listener.getsockname()[1]).request("GET", "/", {}, None, (1, 0.3))
    assert not isinstance(silent.value, ConnectError)
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(ConnectError, match="Connection refused"):
        _wire(port).request("GET", "/", {}, None, (1, 1))
