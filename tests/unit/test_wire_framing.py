"""How the transport reads the responses a real server may send (chunk extensions and trailers, interim answers,
HTTP/1.0, split segments, 50 MB pages) and refuses the framings two readers could split differently."""

from __future__ import annotations

import socket
import time

import pytest

from reconciler.kube.wire import Wire
from tests.unit.wire_server import OK, Handler, answer, serve


def _wire(port: int) -> Wire:
    return Wire("127.0.0.1", port, None, "127.0.0.1", 4)


def _get(wire: Wire, path: str = "/api/v1/namespaces") -> tuple[int, bytes]:
    return wire.request("GET", path, {}, None, (3, 3))


def _then_ok(first: bytes) -> Handler:
    """Answers ``first`` to the first request and OK to the next ones, on the same connection."""
    sent: list[int] = []

    def handle(connection: socket.socket, _: bytes) -> None:
        connection.sendall(OK if sent else first)
        sent.append(1)
    return handle


@pytest.mark.parametrize(("first", "body"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value;x\r\n{\"a\":\r\n2\r\n1}\r\n"
     b"0;last\r\nX-Checksum: abc\r\nX-Other: d\r\n\r\n", b'{"a":1}'),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", b""),
    (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
    (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 120\r\n\r\n", b""),  # the length of what did not change
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
     b"{}"),
    (b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\nTRANSFER-encoding-x: 1\r\n\r\n[]", b"[]"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n[]", b"[]"),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n[]", b"[]"),
])
def test_a_framed_answer_is_read_whole_and_the_next_one_on_the_same_connection_is_its_own(first: bytes,
                                                                                            body: bytes) -> None:
    with serve(_then_ok(first)) as server:
        wire = _wire(server.port)
        assert _get(wire)[1] == body
        assert _get(wire) == (200, b"ok"), "the first answer left bytes behind or took some of the next"
        assert server.connections == 1


@pytest.mark.parametrize("first", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"to\":\"the close\"}",
    b"HTTP/1.0 200 OK\r\n\r\n{\"to\":\"the close\"}",
    b"HTTP/1.0 200 OK\r\nContent-Length: 18\r\n\r\n{\"to\":\"the close\"}",
])
def test_a_body_that_ends_the_connection_is_read_to_its_end_and_the_connection_not_kept(first: bytes) -> None:
    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(first if first.startswith(b"HTTP/1.0") or b"close" in first else OK)
        return False
    with serve(handle) as server:
        wire = _wire(server.port)
        assert _get(wire) == (200, b'{"to":"the close"}')
        assert _get(wire) == (200, b'{"to":"the close"}')
        assert server.connections == 2


def test_an_answer_split_into_one_byte_segments_is_reassembled() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"

    def handle(connection: socket.socket, _: bytes) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(len(raw)):
            connection.sendall(raw[index:index + 1])
            time.sleep(0.0005)
    with serve(handle) as server:
        wire = _wire(server.port)
        assert _get(wire) == (200, b'{"a":1}')
        assert _get(wire) == (200, b'{"a":1}')


@pytest.mark.parametrize("chunked", [False, True])
def test_a_fifty_megabyte_list_page_arrives_whole(chunked: bool) -> None:
    page = b'{"items":[' + b'{"metadata":{"name":"o"}},' * 2_000_000 + b'{}]}'
    assert len(page) > 50_000_000
    if chunked:
        pieces = [page[i:i + (1 << 20)] for i in range(0, len(page), 1 << 20)]
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
            b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
    else:
        raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(page), page)
    with serve(answer(raw)) as server:
        status, data = _get(_wire(server.port))
    assert status == 200 and data == page


@pytest.mark.parametrize(("raw", "why"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}", "Content-Length b'40' after 2"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 40\r\n\r\n{}", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}", "Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
     "both Content-Length and Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 0\r\n\r\n{}", "a folded content-length header"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", "Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", "chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}}\r\n0\r\n\r\n", "longer than its size"),
])
def test_a_framing_two_readers_could_split_differently_is_refused_not_guessed(raw: bytes, why: str) -> None:
    with serve(answer(raw)) as server:
        wire = _wire(server.port)
        with pytest.raises(OSError, match="not an HTTP response the reconciler can read") as refused:
            _get(wire)
        assert why in str(refused.value)
        assert wire._idle == [], "a connection whose stream is in doubt is never reused"


@pytest.mark.parametrize("raw", [b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n{\"items\":[",
                                 b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ne8d4a51000\r\n{\"items\":["])
def test_a_length_far_beyond_what_arrives_fails_as_a_cut_answer_not_out_of_memory(raw: bytes) -> None:
    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(raw)
        return False
    with serve(handle) as server, pytest.raises(OSError, match="closed the connection"):
        _get(_wire(server.port))
