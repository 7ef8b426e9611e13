"""Reading one HTTP/1.1 response off a kept connection: its status, the headers that frame it and its body.

Only ``Content-Length``, ``Transfer-Encoding`` and ``Connection`` are looked at, and only when unambiguous: a
framing that another reader (a proxy in front of the API server) could split in a different place is refused
rather than guessed, and the connection is then dropped by the caller.
"""

from __future__ import annotations

import ssl
from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 100
_FRAMING = (b"content-length", b"transfer-encoding", b"connection")
_HEX = b"0123456789abcdefABCDEF"
_PIECE = 1 << 24
# How a connection the server ended shows: a TLS connection reset reads as an EOF in violation of the protocol.
CUT = (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


class Closed(OSError):
    """The server closed a kept connection before answering: the request was not processed."""


def early_answer(reader: BinaryIO, cut: OSError) -> tuple[int, bytes, bool]:
    """The answer a server sent before it stopped reading the request (``cut``), as read_response gives it, with
    the connection never kept; Closed when none came."""
    try:
        status, data, _ = read_response(reader)
    except OSError:
        raise Closed(*cut.args) from cut
    return status, data, False


def read_response(reader: BinaryIO) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may be kept)."""
    try:
        line = reader.readline(MAX_LINE)
    except CUT as exc:
        raise Closed(*exc.args) from exc  # a TLS connection cut while idle ends like this rather than in b""
    if not line:
        raise Closed("the server closed the connection")
    if not line.endswith(b"\n"):
        raise OSError(f"not an HTTP response: a status line longer than {MAX_LINE} bytes")
    try:
        while True:
            status, framing = _response_head(reader, line)
            if not 100 <= status < 200:
                return status, *_body(reader, status, framing)
            line = reader.readline(MAX_LINE)  # an interim answer (100 Continue): the final one follows
    except ValueError as exc:  # a length or chunk size that is not a number, a framing refused
        raise OSError(f"not an HTTP response the reconciler can read: {exc}") from exc


class _Framing:
    def __init__(self, keep: bool) -> None:
        self.length: int | None = None
        self.chunked = False
        self.keep = keep


def _response_head(reader: BinaryIO, line: bytes) -> tuple[int, _Framing]:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise OSError(f"not an HTTP response: {line[:80]!r}")
    framing = _Framing(keep=parts[0] != b"HTTP/1.0")
    last = b""
    for _ in range(MAX_HEADERS):
        header = reader.readline(MAX_LINE)
        if header == b"\r\n" or header == b"\n":
            return int(parts[1]), framing
        if not header:
            raise OSError("the server closed the connection inside the response's head")
        if not header.endswith(b"\n"):
            raise ValueError(f"a header line longer than {MAX_LINE} bytes")
        if header[:1] in (b" ", b"\t"):  # obsolete line folding: refused where it could change the framing
            if last in _FRAMING:
                raise ValueError(f"a folded {last.decode()} header")
            continue
        name, _, value = header.partition(b":")
        last = name.strip().lower()
        if last in _FRAMING:
            _frame(framing, last, value.strip())
    raise ValueError(f"more than {MAX_HEADERS} header lines")


def _frame(framing: _Framing, name: bytes, value: bytes) -> None:
    """Headers that decide where the body ends are taken only when unambiguous: two lengths that differ, a length
    beside chunked coding, or a coding other than chunked would let a proxy and this reader split the stream in
    different places (response smuggling), so they are refused rather than guessed."""
    if name == b"content-length":
        if not value.isdigit() or (framing.length is not None and framing.length != int(value)):
            raise ValueError(f"Content-Length {value[:40]!r} after {framing.length}")
        framing.length = int(value)
    elif name == b"transfer-encoding":
        if framing.chunked or value.lower() != b"chunked":
            raise ValueError(f"Transfer-Encoding {value[:40]!r}")
        framing.chunked = True
    elif name == b"connection":
        tokens = {token.strip() for token in value.lower().split(b",")}
        framing.keep = b"close" not in tokens and (framing.keep or b"keep-alive" in tokens)
    if framing.chunked and framing.length is not None:
        raise ValueError("both Content-Length and Transfer-Encoding")


def _body(reader: BinaryIO, status: int, framing: _Framing) -> tuple[bytes, bool]:
    if status in (204, 304):
        return b"", framing.keep  # never a body, whatever length a 304 repeats
    if framing.chunked:
        return _chunks(reader), framing.keep
    if framing.length is None:
        return reader.read(), False  # framed by the close
    data = _exactly(reader, framing.length)
    if len(data) != framing.length:
        raise OSError(f"the server closed the connection after {len(data)} of {framing.length} bytes")
    return data, framing.keep


def _exactly(reader: BinaryIO, size: int) -> bytes:
    """``size`` bytes or fewer if the stream ends, read in pieces: a buffered read allocates all it is asked for
    up front, so a length of a terabyte (a broken or hostile server) would fail with MemoryError before a byte
    arrived instead of growing only with what the server really sends."""
    if size <= _PIECE:
        return reader.read(size)
    pieces: list[bytes] = []
    while size > 0 and (piece := reader.read(min(size, _PIECE))):
        pieces.append(piece)
        size -= len(piece)
    return b"".join(pieces)


def _chunks(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size_text = reader.readline(MAX_LINE).split(b";", 1)[0].strip()
        if not size_text or size_text.strip(_HEX):
            raise ValueError(f"a chunk size {size_text[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            for _ in range(MAX_HEADERS):
                if reader.readline(MAX_LINE) in (b"\r\n", b"\n", b""):
                    return b"".join(parts)  # after the trailers, which framing never depends on
            raise ValueError(f"more than {MAX_HEADERS} trailer lines")
        chunk = _exactly(reader, size)
        if len(chunk) != size:
            raise OSError("the server closed the connection inside a chunk")
        parts.append(chunk)
        if reader.read(2) != b"\r\n":
            raise ValueError("a chunk longer than its size")
