"""Kept TLS connections: one the server closed or reset while idle is retried once on a new one, and failed
handshakes leave no descriptor open."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import threading
import time

import pytest

from reconciler.kube.wire import ConnectError, Wire
from tests.unit.wire_server import OK, Tls, serve, server_context, tls_material


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    return tls_material(tmp_path_factory.mktemp("tls"))


def _wire(tls: Tls, port: int) -> Wire:
    return Wire("127.0.0.1", port, ssl.create_default_context(cafile=str(tls[0].ca_cert)), "127.0.0.1", 4)


def _get(wire: Wire) -> tuple[int, bytes]:
    return wire.request("GET", "/api/v1/pods", {}, None, (3, 3))


@pytest.mark.parametrize("how", ["close", "reset", "close_notify"])
def test_a_kept_tls_connection_the_server_ended_while_idle_is_retried_once_on_a_new_one(tls: Tls, how: str) -> None:
    idle_timeout = threading.Event()

    def handle(connection: socket.socket, _: bytes) -> bool:
        connection.sendall(OK)
        if server.connections > 1:
            return True
        idle_timeout.wait(3)
        if how == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif how == "close_notify" and isinstance(connection, ssl.SSLSocket):
            connection.setblocking(False)  # send our close_notify without waiting for the client's
            with contextlib.suppress(OSError):  # SSLWantReadError: the client's close_notify is not awaited
                connection.unwrap()
        return False
    with serve(handle, context=server_context(tls)) as server:
        wire = _wire(tls, server.port)
        assert _get(wire) == (200, b"ok")
        idle_timeout.set()
        time.sleep(0.1)
        assert _get(wire) == (200, b"ok")
        assert server.connections == 2


def test_failed_handshakes_leave_no_descriptor_open(tls: Tls) -> None:
    with serve(lambda connection, _: connection.sendall(OK), context=server_context(tls)) as server:
        baseline = len(os.listdir("/proc/self/fd"))
        untrusted = Wire("127.0.0.1", server.port, ssl.create_default_context(), "127.0.0.1", 4)
        for _ in range(200):
            with pytest.raises(ConnectError, match="certificate verify failed"):
                _get(untrusted)
        for _ in range(50):
            time.sleep(0.02)
            if len(os.listdir("/proc/self/fd")) <= baseline:
                break
        assert len(os.listdir("/proc/self/fd")) <= baseline


def test_a_server_that_never_answers_the_handshake_times_out_as_one_that_does_not_answer(tls: Tls) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the backlog) and never says a word
    wire = _wire(tls, listener.getsockname()[1])
    started = time.monotonic()
    with pytest.raises(TimeoutError) as silent:
        wire.request("GET", "/", {}, None, (0.3, 3))
    assert not isinstance(silent.value, ConnectError), "a server reached that does not answer is not unreachable"
    assert time.monotonic() - started < 2
    listener.close()
