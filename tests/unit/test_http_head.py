"""What the HTTP server's loop decides from the bytes of a request head, before any worker sees it; and renderings
shared between requests. The server itself, under real sockets, is tested by tests/integration/e2e/test_http_*."""

from __future__ import annotations

import time

from reconciler.controller.http import Fresh
from reconciler.controller.http_head import PendingHead, too_large


def test_a_head_is_complete_at_its_empty_line_and_not_before() -> None:
    head = PendingHead(0.0)
    assert head.add(b"GET /status HTTP/1.1\r\n", 100) == "incomplete"
    assert head.add(b"Host: x\r\n", 100) == "incomplete"
    assert head.add(b"\r\n", 100) == "complete"
    assert PendingHead(0.0).add(b"GET / HTTP/1.0\n\n", 100) == "complete", "http.server accepts bare newlines"


def test_a_head_over_the_limit_is_too_large_even_if_it_ends_later_in_the_same_chunk() -> None:
    assert PendingHead(0.0).add(b"GET / HTTP/1.1\r\nX: " + b"a" * 200, 100) == "too large"
    assert PendingHead(0.0).add(b"GET / HTTP/1.1\r\nX: " + b"a" * 200 + b"\r\n\r\n", 100) == "too large"
    body_follows = b"POST /hooks/git HTTP/1.1\r\nContent-Length: 500\r\n\r\n" + b"{" * 500
    assert PendingHead(0.0).add(body_follows, 100) == "complete", "the body is not part of the head"
    answer = too_large(100)
    assert answer.startswith(b"HTTP/1.0 431 ") and answer.endswith(b"over 100 bytes\n")


def test_a_rendering_is_made_once_per_interval_whatever_the_number_of_requests() -> None:
    made: list[int] = []
    fresh = Fresh(fresh_for=0.2)
    values = [fresh.get("status", lambda: made.append(1) or len(made)) for _ in range(100)]
    assert values == [1] * 100 and len(made) == 1
    time.sleep(0.25)
    assert fresh.get("status", lambda: made.append(1) or len(made)) == 2
    assert fresh.get("metrics", lambda: 7) == 7, "each rendering is kept under its own name"
