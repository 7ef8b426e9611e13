"""The request head of one connection: received by the server's loop, without a thread, until it is complete;
then read by the worker that serves it (:mod:`reconciler.controller.http_limits`).

A worker is handed a connection only once its request line and headers are all in, so a client that sends part of
a request and then nothing, or a byte a second, holds no worker: it holds a buffer of at most ``max_head`` bytes
until the loop closes it.
"""

from __future__ import annotations

import io
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

HEAD_ENDS = (b"\r\n\r\n", b"\n\n")  # the empty line after the headers (http.server accepts bare newlines too)
RECEIVE = 64 * 1024  # bytes taken from a socket per wake-up

_served = threading.local()  # what the loop received of the connection the current worker serves


@dataclass
class PendingHead:
    """A connection the loop is receiving a request head from, since ``since`` (monotonic)."""

    since: float
    received: bytearray = field(default_factory=bytearray)

    def add(self, chunk: bytes, max_head: int) -> Literal["complete", "incomplete", "too large"]:
        self.received += chunk
        head = self.received[:max_head + len(HEAD_ENDS[0])]
        if any(end in head for end in HEAD_ENDS):
            return "complete"
        return "too large" if len(self.received) > max_head else "incomplete"


def too_large(max_head: int) -> bytes:
    """The answer to a head over the limit, sent by the loop itself (no worker is given such a request)."""
    body = f"the request line and headers are over {max_head} bytes\n".encode()
    return (b"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body


def serving(received: bytes) -> None:
    """Called by a worker before it serves a connection: the head (and any body bytes) the loop received."""
    _served.received = received


class _Received(io.RawIOBase):
    """What the loop already received of a request, then the rest from the socket (a webhook's body)."""

    def __init__(self, received: bytes, connection: socket.socket) -> None:
        self._received = memoryview(received)
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._received:
            size = min(len(buffer), len(self._received))
            buffer[:size] = self._received[:size]
            self._received = self._received[size:]
            return size
        return self._connection.recv_into(buffer)


class LimitedHandler(BaseHTTPRequestHandler):
    """A handler that reads the request head the loop received, then the socket; one request per connection."""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket's own reader: replaced, and closed so that closing the socket closes it
        self.rfile = io.BufferedReader(_Received(_served.received, self.connection))

    def handle(self) -> None:
        self.close_connection = True  # pipelined requests after the first are not read: one answer, then close
        self.handle_one_request()
