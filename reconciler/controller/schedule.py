"""When a cluster's worker converges next: at once on a new revision or when forced (drift, new leadership), after
a backoff that doubles with each consecutive failure, else at the resync. Kept apart from the sync itself so the
timing rules read in one place."""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_BACKOFF = 1.0
MIN_WAIT = 0.05  # seconds; a due time already passed still yields the thread a moment


def backoff(failures: int, ceiling: float) -> float:
    """Seconds before the next attempt after ``failures`` consecutive failures: 1, 2, 4, ... up to ``ceiling``,
    with 20% jitter so replicas and clusters do not retry in step."""
    base = min(ceiling, FIRST_BACKOFF * 2.0 ** max(0, failures - 1))
    return base * random.uniform(0.8, 1.2)


@dataclass
class Schedule:
    resync: float  # seconds between converges of a settled cluster
    max_backoff: float
    attempted: str | None = None  # the revision last tried, whatever came of it
    failures: int = 0  # consecutive
    retry_at: float | None = None  # monotonic time of the retry after a failure; None while settled
    resync_at: float = 0.0
    force: bool = False  # converge at the next wake even if nothing else is due

    def due(self, revision: str, now: float) -> bool:
        if self.force or revision != self.attempted:
            return True
        if self.retry_at is not None:
            return now >= self.retry_at
        return now >= self.resync_at

    def next_wake(self, now: float) -> float:
        if self.retry_at is not None:
            return max(MIN_WAIT, self.retry_at - now)
        return max(MIN_WAIT, min(self.resync_at - now, self.resync))

    def started(self, revision: str) -> None:
        self.force, self.attempted = False, revision

    def failed(self, now: float) -> float:
        """One more consecutive failure: seconds until the cluster is tried again."""
        self.failures += 1
        retry_in = backoff(self.failures, self.max_backoff)
        self.retry_at = now + retry_in
        return retry_in

    def settled(self, now: float) -> None:
        """Converged, refused or held: no retry, the next attempt is the resync (or a new revision)."""
        self.failures, self.retry_at = 0, None
        self.resync_at = now + self.resync
