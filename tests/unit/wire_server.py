"""A small HTTP server on a real socket for the transport's tests: each request is handed, with its connection, to
the test's own handler, which answers however a misbehaving server would (split, cut, folded, slow)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from testenv import certs

Tls = tuple[certs.Certificates, Path, Path]  # the CA and serving pair, a client certificate and its key
# (the connection, the request's head) -> False to close the connection without reading another request
Handler = Callable[[socket.socket, bytes], bool | None]


@dataclass
class RawServer:
    port: int
    handler: Handler
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)


@contextlib.contextmanager
def serve(handler: Handler, *, host: str = "127.0.0.1", context: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, 0), family=family)
    server = RawServer(listener.getsockname()[1], handler)

    def run(connection: socket.socket) -> None:
        try:
            if context is not None:
                connection = context.wrap_socket(connection, server_side=True)
            with connection, connection.makefile("rb") as reader:
                while True:
                    head = _head(reader)
                    if not head:
                        return
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), 0)
                    reader.read(length)
                    server.heads.append(head)
                    if server.handler(connection, head) is False:
                        return
        except OSError:
            return  # a client that went away, a handshake refused: the test looks at the client's side

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            server.connections += 1
            threading.Thread(target=run, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server
    finally:
        listener.close()


def tls_material(directory: Path) -> Tls:
    """A CA, a serving certificate it signed for 127.0.0.1 and localhost, and a client certificate for alice."""
    made = certs.generate(directory, "wire")
    key, request, cert = directory / "alice.key", directory / "alice.csr", directory / "alice.crt"
    (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", request, "-subj", "/CN=alice/O=ml-vision"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", request, "-CA", made.ca_cert, "-CAkey", made.ca_key,
                    "-set_serial", "7", "-days", "1", "-extfile", directory / "client.ext", "-out", cert],
                   check=True, capture_output=True)
    return made, cert, key


def server_context(tls: Tls, client_certificates: bool = False) -> ssl.SSLContext:
    made = tls[0]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(made.ca_cert))
    context.load_cert_chain(made.serving_cert, made.serving_key)
    context.verify_mode = ssl.CERT_REQUIRED if client_certificates else ssl.CERT_NONE
    return context


def _head(reader: BinaryIO) -> bytes:
    lines = []
    while (line := reader.readline()) not in (b"\r\n", b""):
        lines.append(line)
    return b"".join(lines)


def answer(raw: bytes) -> Handler:
    """A handler that sends ``raw`` to every request and keeps the connection."""
    return lambda connection, _: connection.sendall(raw)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
