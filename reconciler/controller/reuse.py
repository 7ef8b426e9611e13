"""What a cluster's worker converges at a new revision: only the targets the revision changes.

After each converge the worker remembers the landscape it converged and which of its targets ended converged. At
the next revision, when nothing was seen to change on the cluster since that converge began (the watch cache
reports every change of a managed object), a target whose render inputs are equal in both revisions
(:mod:`reconciler.plan.incremental`) holds what the new revision wants: it is not rendered, dry-run or compared
again, and stays converged at the new revision. Every other target is converged as a full converge would; the
environments removed from the repository are planned from their inventories as always.

A change the watches see in a target's namespace (drift) wakes the worker, which converges that target alone,
the same way. Everything is redone at a resync and when this replica becomes a cluster's leader, after a converge
that did not end converged, after a change that belongs to no one target (a cluster-scoped object, an inventory),
and when the Platform enforces quotas with Kueue (its cluster-wide queues are judged across targets).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.config.model import Landscape, Target
from reconciler.controller.status_model import SyncOutcome
from reconciler.plan import incremental


@dataclass(frozen=True)
class Scope:
    targets: tuple[Target, ...]  # to converge
    kept: tuple[str, ...] = ()  # namespaces that stay converged as they are, now at the new revision
    removed: frozenset[str] = frozenset()  # namespaces of the targets the revision removed

    @property
    def namespaces(self) -> frozenset[str] | None:
        """The namespaces whose live objects the converge reads; None: all of them."""
        if not self.kept:
            return None
        return frozenset(t.namespace for t in self.targets) | self.removed


class Reuse:
    """One cluster's memory of its last converge, for the next one. A converge takes the memory (so one that fails
    or stops leaves none) and gives it back once it converged; a change seen on the cluster meanwhile marks its
    namespace to converge next time, and a change that belongs to no target clears the memory."""

    def __init__(self, cluster: str) -> None:
        self.cluster = cluster
        self._lock = threading.Lock()
        self._landscape: Landscape | None = None
        self._converged: frozenset[str] = frozenset()
        self._changed: set[str] = set()  # namespaces where a watched object changed since the last converge began
        self._unplaced = 0  # changes seen so far that belong to no one namespace
        self._unplaced_at_start = 0

    def base(self) -> tuple[Landscape | None, frozenset[str]]:
        """The landscape the cluster was last converged to (None when unknown or when something changed since that
        is not one target's), and the namespaces of its targets that are converged now, as far as the watches
        tell."""
        with self._lock:
            return self._landscape, self._converged - self._changed

    def live_changed(self, namespace: str | None) -> None:
        """A watched object changed on the cluster, in ``namespace`` (None: cluster-wide); from the watches'
        threads."""
        with self._lock:
            if namespace is None:
                self._unplaced += 1
                self._landscape = None
            else:
                self._changed.add(namespace)

    def forget(self) -> None:
        """The next converge redoes everything."""
        with self._lock:
            self._landscape = None

    def scope(self, landscape: Landscape, targets: Sequence[Target], full: bool) -> Scope:
        """The targets to converge now; called as a converge begins, before anything is read."""
        with self._lock:
            before, converged, changed = self._landscape, self._converged, self._changed
            self._landscape, self._converged, self._changed = None, frozenset(), set()
            self._unplaced_at_start = self._unplaced
        mine = {t.namespace for t in targets}
        if full or before is None or _kueue(before) or _kueue(landscape) or changed - mine:
            return Scope(tuple(targets))
        redo = {t.key for t in incremental.changed_targets(before, landscape, targets)}
        fresh = converged - changed
        chosen = tuple(t for t in targets if t.key in redo or t.namespace not in fresh)
        kept = tuple(t.namespace for t in targets if t.key not in redo and t.namespace in fresh)
        now = {t.namespace for t in landscape.targets if t.cluster.name == self.cluster}
        removed = {t.namespace for t in before.targets if t.cluster.name == self.cluster} - now
        return Scope(chosen, kept, frozenset(removed))

    def converged(self, landscape: Landscape, outcome: SyncOutcome, scope: Scope) -> None:
        """The end of a converge: remembered when it converged and nothing changed meanwhile that belongs to no
        target (a change in a target's namespace is converged next time)."""
        done = {namespace for namespace, target in outcome.targets.items() if target.state == "converged"}
        with self._lock:
            if outcome.state == "converged" and self._unplaced == self._unplaced_at_start:
                self._landscape, self._converged = landscape, frozenset(done | set(scope.kept))


def _kueue(landscape: Landscape) -> bool:
    return landscape.platform.quota_enforcement != "ResourceQuota"
