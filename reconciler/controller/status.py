"""The one place the controller's threads record what happened, read by the HTTP server: /status, the probes and
the gauges of /metrics (the counters are counted in :mod:`reconciler.controller.metrics` as events happen)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from reconciler import version as build
from reconciler.controller.metrics import Gauges
from reconciler.controller.status_model import ClusterStatus, SyncOutcome, TargetStatus, camel
from reconciler.controller.status_source import SourceStatus, now_text

MAX_CHANGES = 20  # per target, in /status and on the status page


class Status(SourceStatus):
    """The controller's state, written by its threads and read by the HTTP server: the source's (inherited), the
    leadership of each cluster and each cluster's converges."""

    def __init__(self, repository: str, branch: str, path: str, identity: str, leader_elect: bool) -> None:
        super().__init__(repository, branch, path)
        self.clusters: dict[str, ClusterStatus] = {}
        self.leader: dict[str, Any] = {"enabled": leader_elect, "identity": identity, "isLeader": not leader_elect,
                                       "holder": None}
        self.state = "starting"
        self._synced_once = False
        self._heartbeat = time.monotonic()
        self._measured: set[str] = set()
        self._unauthorized: dict[str, float | None] = {}
        self._unanswered: set[str] = set()  # failed by a check of the revision, until their worker converged
        self.auth_grace = 600.0  # seconds of 401s from every cluster before /readyz fails

    def _known_cluster(self, name: str) -> ClusterStatus:
        """The cluster's status, with its counters and histogram at 0 the first time it is seen. Holds the lock."""
        if name not in self._measured:  # not `self.clusters`: leadership may have shown the cluster first
            self._measured.add(name)
            self.metrics.known_cluster(name)
        return self.clusters.setdefault(name, ClusterStatus())

    # -- written by the controller ---------------------------------------------------------------------------------

    def heartbeat(self) -> None:
        with self._lock:
            self._heartbeat = time.monotonic()

    def set_state(self, state: str) -> None:
        with self._changing():
            self.state = state

    def set_leader(self, is_leader: bool, holder: str | None, cluster: str | None = None,
                   error: str | None = None) -> None:
        """Leadership of one cluster (its Lease), or of every cluster when ``cluster`` is None; ``error`` says why
        the Lease cannot be reached."""
        with self._changing():
            leases = self.leader.setdefault("clusters", {})
            for name in [cluster] if cluster else list(leases):
                leases[name] = {"isLeader": is_leader, "holder": holder, "error": error}
                if not is_leader:
                    state = self.clusters.setdefault(name, ClusterStatus())
                    state.state = "standby"
                    state.last_error = error or state.last_error
            holders = {lease["holder"] for lease in leases.values()}
            self.leader.update(isLeader=any(lease["isLeader"] for lease in leases.values()),
                               holder=holders.pop() if len(holders) == 1 else None)

    def authentication(self, cluster: str, unauthorized_since: float | None) -> None:
        """Since when the cluster has refused the credentials (HTTP 401) without a break; None when it accepts them."""
        with self._changing():
            self._unauthorized[cluster] = unauthorized_since

    def _credentials_refused(self) -> bool:
        """Every cluster has refused the credentials for longer than ``auth_grace``: a restart may be the cure."""
        now = time.monotonic()
        since = [self._unauthorized.get(name) for name in self.clusters]
        return bool(since) and all(s is not None and now - s > self.auth_grace for s in since)

    def forget_cluster(self, name: str) -> None:
        with self._changing():
            self.clusters.pop(name, None)

    def converging(self, name: str, revision: str) -> None:
        """A converge began; a cluster that just did not answer a check of the revision stays failed until the
        converge says otherwise."""
        with self._changing():
            cluster = self._known_cluster(name)
            cluster.state = "failed" if name in self._unanswered else "converging"
            cluster.converging_revision, cluster.written_this_sync = revision, 0
            cluster.last_attempt_time = now_text()

    def progress(self, name: str) -> None:
        with self._changing():
            self.clusters.setdefault(name, ClusterStatus()).written_this_sync += 1

    def unreachable(self, name: str, error: str) -> None:
        """A cluster that failed before its worker got to it (a check of a new revision): shown failed at once;
        its worker's next converge says what happened then."""
        with self._changing():
            cluster = self._known_cluster(name)
            cluster.state, cluster.last_error = "failed", error
            self._unanswered.add(name)
            for target in cluster.targets.values():
                target.state, target.last_error = "failed", error

    def synced(self, name: str, outcome: SyncOutcome, failures: int, retry_in: float | None,
               kept: Sequence[str] = ()) -> None:
        """A converge's end; ``kept`` names the targets it left out as unchanged by its revision (see
        :mod:`reconciler.controller.reuse`): their rows stay, now at that revision."""
        with self._changing():
            cluster = self._known_cluster(name)
            self._unanswered.discard(name)
            same_revision = cluster.revision == outcome.revision
            cluster.state, cluster.failures, cluster.next_retry_in_seconds = outcome.state, failures, retry_in
            cluster.converging_revision = None
            cluster.last_error = "; ".join(outcome.errors) or None
            if outcome.state == "converged":
                cluster.revision = outcome.revision
                cluster.last_sync_time = now_text()
                self._synced_once = True
            before = cluster.targets
            _merge_targets(cluster, outcome, same_revision)
            _keep_targets(cluster, before, outcome, kept)
        self._count_sync(name, outcome)

    def _count_sync(self, name: str, outcome: SyncOutcome) -> None:
        self.metrics.observe(name, outcome.duration)
        result = {"converged": "success", "refused": "refused", "held": "held"}.get(outcome.state, "failure")
        self.count("reconciler_reconciles_total", cluster=name, result=result)
        for metric, amount in (("reconciler_objects_applied_total", outcome.applied),
                               ("reconciler_objects_pruned_total", outcome.pruned),
                               ("reconciler_objects_orphaned_total", outcome.orphaned),
                               ("reconciler_drift_corrected_total", outcome.drift),
                               ("reconciler_errors_total", len(outcome.errors))):
            self.count(metric, amount, cluster=name)

    # -- read by the server ----------------------------------------------------------------------------------------

    def alive(self, stale_after: float) -> bool:
        with self._lock:
            return time.monotonic() - self._heartbeat < stale_after

    @property
    def ready(self) -> bool:
        with self._lock:
            if self._credentials_refused():
                return False
            return self._synced_once or (self.leader["enabled"] and not self.leader["isLeader"])

    def not_ready_reason(self) -> str:
        with self._lock:
            if self._credentials_refused():
                return (f"every cluster has refused the reconciler's credentials (HTTP 401) for over "
                        f"{self.auth_grace:.0f}s; check the kubeconfig, its token files or kubeconfig Secrets\n")
        return "no successful sync yet\n"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self.state,
                "version": build.version(),
                "source": dict(self.source),
                "revision": self.revision,
                "lastBadRevision": self.bad_revision,
                "heldRevision": self.held_revision,
                "leader": {**self.leader, "clusters": {k: dict(v) for k, v in self.leader["clusters"].items()}}
                if "clusters" in self.leader else dict(self.leader),
                "ready": self._synced_once or (self.leader["enabled"] and not self.leader["isLeader"]),
                "clusters": {name: camel(asdict(cluster)) for name, cluster in sorted(self.clusters.items())},
            }

    def snapshot_json(self) -> str:
        """/status as JSON text, built again only once something it shows changed: a poll of a controller with
        thousands of targets does not rebuild every target's row."""
        with self._lock:
            version, shown = self._version, self._shown
        if shown is not None and shown[0] == version:
            return shown[1]
        text = json.dumps(self.snapshot(), indent=1) + "\n"  # of version or later: a later poll builds it again
        with self._lock:
            self._shown = (version, text)
        return text

    def gauges(self) -> Gauges:
        with self._lock:
            return Gauges(clusters=sorted(self.clusters.items()), is_leader=self.leader["isLeader"],
                          ready=self._synced_once,
                          head_invalid=bool(self.bad_revision and self.bad_revision["revision"] == self.source["head"]),
                          held=self.held_revision is not None)


def _keep_targets(cluster: ClusterStatus, before: dict[str, TargetStatus], outcome: SyncOutcome,
                  kept: Sequence[str]) -> None:
    """The rows of targets a converge left out as unchanged by its revision: they were converged and hold what
    the revision wants, as a converge of them would have found (nothing written, no drift)."""
    for namespace in kept:
        row = before.get(namespace)
        if row is None or namespace in cluster.targets:
            continue
        if row.state == "converged" and outcome.state == "converged":
            row.revision, row.last_sync_time = outcome.revision, now_text()
        row.drift_corrected = 0
        cluster.targets[namespace] = row


def _merge_targets(cluster: ClusterStatus, outcome: SyncOutcome, same_revision: bool) -> None:
    """The targets after a converge: a target keeps the revision it still runs and its recent changes; when the
    whole cluster failed (no target reached), every target it had shows the failure. A target the revision removed
    stays shown as removed while the cluster converges that revision again (a resync, or a wake-up on drift): its
    inventory is gone, so no later sync of the revision names it."""
    if not outcome.targets and outcome.state == "failed":
        for target in cluster.targets.values():
            target.state, target.last_error = "failed", cluster.last_error
        return
    for namespace, target in outcome.targets.items():
        before = cluster.targets.get(namespace)
        if target.revision is None and before is not None:  # still runs what it ran before
            target.revision, target.last_sync_time = before.revision, before.last_sync_time
        if before is not None:
            target.changes = (target.changes + before.changes)[:MAX_CHANGES]
    if same_revision:
        for namespace, before in cluster.targets.items():
            if before.state == "removed" and namespace not in outcome.targets:
                outcome.targets[namespace] = before
    cluster.targets = outcome.targets
