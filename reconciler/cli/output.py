"""What the cluster commands print besides their report: progress of a long converge, what a dry run checked."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # the cluster commands' results; validate, render and diff load no Kubernetes client
    from reconciler.converge import results


def dry_run_checked(clusters: list[results.ClusterResult]) -> str:
    """A dry run says how many objects the API servers checked, not only how many it would create."""
    sent = sum(r.dry_run_checked[0] for r in clusters)
    total = sum(r.dry_run_checked[1] for r in clusters)
    if sent == total:
        return f"the API servers checked all {total} object(s) to write (server-side dry run)"
    return (f"the API servers checked {sent} of {total} object(s) to write (server-side dry run); the other "
            f"{total - sent} are in namespaces that do not exist yet, and a cluster the reconciler never wrote has no "
            "scratch namespace to check them in: they are checked when their namespace is created")


class Progress:
    """Progress of a long converge on stderr: done of total, rate and ETA, every few seconds.

    Plain lines, no colour and no cursor movement, so a CI log or a file reads the same as a terminal; a short
    converge prints nothing."""

    def __init__(self, every_seconds: float = 5.0, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every_seconds
        self.stream = stream
        self.clock = clock
        self.total = 0
        self.done = 0
        self.started = self.last = clock()
        self.lock = threading.Lock()

    def start(self, total: int) -> None:
        with self.lock:
            self.total, self.done = total, 0
            self.started = self.last = self.clock()

    def __call__(self, message: str) -> None:
        with self.lock:
            self.done += 1
            now = self.clock()
            if now - self.last < self.every or self.done >= self.total:
                return
            self.last = now
            print(self.line(now, message), file=self.stream or sys.stderr, flush=True)

    def line(self, now: float, message: str) -> str:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        share = 100 * self.done // max(self.total, 1)
        return (f"... {self.done}/{self.total} changes ({share}%), {rate:.1f}/s, about {left:.0f}s left "
                f"(last: {message})")
