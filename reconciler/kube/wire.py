"""Keep-alive HTTP/1.1 to one API server over pooled (TLS) sockets, for the requests the reconciler sends.

urllib3 and ``http.client`` build a response object, parse every header through the ``email`` package and walk a
retry policy on each request; at thousands of small writes a converge spent more of its own CPU there than on
TLS. A request here is one ``sendall`` of head and body; a response is its status line, the three headers that
frame it (``Content-Length``, ``Transfer-Encoding``, ``Connection``) and its body (read in
:mod:`reconciler.kube.wire_response`). A kept connection that became readable while idle is dropped before reuse;
one the server closes as the request goes out (its idle timeout) fails before any answer arrived and is retried
once on a new one: every request the reconciler sends is idempotent (server-side apply, GET, DELETE, a merge patch
of an annotation).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import BinaryIO

from reconciler.kube import wire_response


class ConnectError(OSError):
    """The API server could not be connected to (refused, unresolvable, TLS refused, connect timeout)."""


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)

    def readable(self) -> bool:
        return bool(self._poll.poll(0))

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Wire:
    """Connections to ``host:port`` (TLS with ``context`` unless it is None), at most ``size`` kept idle."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext | None, server_hostname: str,
                 size: int) -> None:
        self.host, self.port, self.context, self.server_hostname = host, port, context, server_hostname
        self.size = size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        authority = host if ":" not in host else f"[{host}]"
        self._host_header = f"Host: {authority}:{port}\r\n".encode()

    def request(self, method: str, target: str, headers: dict[str, str], body: bytes | None,
                deadline: tuple[float, float]) -> tuple[int, bytes]:
        head = self._head(method, target, headers, body)
        kept = self._take()
        if kept is not None:
            try:
                return self._exchange(kept, head, body, deadline[1])
            except wire_response.Closed:
                pass  # closed while idle: the request never reached the server; once more on a new connection
        return self._exchange(self._connect(deadline), head, body, deadline[1])

    def close(self) -> None:
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for connection in idle:
            connection.close()

    def _head(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
        lines = [f"{method} {target} HTTP/1.1\r\n".encode(), self._host_header]
        lines.extend(f"{name}: {value}\r\n".encode() for name, value in headers.items())
        if body is not None or method in ("PATCH", "POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}\r\n".encode())
        lines.append(b"\r\n")
        head = b"".join(lines)
        if head.count(b"\n") != len(lines) or head.count(b"\r") != len(lines):
            raise _split_request(method, target, headers)
        return head

    def _exchange(self, connection: _Connection, head: bytes, body: bytes | None,
                  timeout: float) -> tuple[int, bytes]:
        try:
            connection.sock.settimeout(timeout)
            try:
                connection.sock.sendall(head + body if body else head)
            except wire_response.CUT as exc:
                # The server may have answered before it stopped reading (413 for a body over its limit): its
                # words, not a closed connection, are what the caller needs. None arrived: it is a closed one.
                status, data, keep = wire_response.early_answer(connection.reader, exc)
            else:
                status, data, keep = wire_response.read_response(connection.reader)
        except BaseException:
            connection.close()
            raise
        if keep:
            self._give_back(connection)
        else:
            connection.close()
        return status, data

    def _take(self) -> _Connection | None:
        """A kept connection the server has not written to since: readable while idle means it closed it or sent
        an answer to no request (a proxy's 408 before its idle close), which must not be read as the next one's."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            if not connection.readable():
                return connection
            connection.close()

    def _give_back(self, connection: _Connection) -> None:
        with self._lock:  # a connection back from a request that outlived close() (a rebuilt client) is closed
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self, deadline: tuple[float, float]) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=deadline[0])
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body go as one send anyway
        except OSError as exc:
            raise ConnectError(*exc.args) from exc
        if self.context is None:
            return _Connection(sock)
        # Within the connect deadline, as urllib3 does; but a server reached that never answers the handshake (a
        # hung load balancer, a black hole) is a server that does not answer, not one that cannot be reached.
        try:
            return _Connection(self.context.wrap_socket(sock, server_hostname=self.server_hostname))
        except TimeoutError:
            raise
        except OSError as exc:
            raise ConnectError(*exc.args) from exc


def _split_request(method: str, target: str, headers: dict[str, str]) -> OSError:
    """A line break inside a header would end it early and let the rest read as another request (splitting): the
    request is refused before it is sent, naming the header but never its value (a credential)."""
    names = [name for name, value in headers.items() if "\r" in name + value or "\n" in name + value]
    where = f"header {', '.join(names)}" if names else "request line"
    return OSError(f"refused to send {method} {target.partition('?')[0]}: its {where} holds a line break; check the "
                   "credential or setting it comes from (a token file is read as it is, less surrounding whitespace)")
