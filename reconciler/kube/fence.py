"""Fencing: every write a client sends first asks a guard whether this process may still write.

The guard runs *before* the request leaves, on the one path all writes take (:meth:`ClusterClient.request`), so a
replica that lost its lease, or was paused past its renew deadline, refuses its next write instead of noticing
after it. A refused write raises :class:`Fenced`, which is not a :class:`~reconciler.kube.errors.KubeError`: the
converge's per-object error handling does not swallow it, and the whole queued converge stops.
"""

from __future__ import annotations

from collections.abc import Callable

WriteGuard = Callable[[str], None]  # called with the write's subject; raises Fenced to refuse it


class Fenced(Exception):
    """A write was refused before it was sent: this replica may not write (lease lost or expiring, stopping)."""

    def __init__(self, cluster: str, subject: str, reason: str) -> None:
        self.cluster = cluster
        self.subject = subject
        self.reason = reason
        super().__init__(f"cluster {cluster}: {subject}: not sent, {reason}")
