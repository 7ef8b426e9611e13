"""What the running controller shows: /healthz, /readyz, /metrics (Prometheus text), /status (JSON) and the git
webhook (POST /hooks/git, handled by :mod:`reconciler.webhook`), served within the limits of
:mod:`reconciler.http_limits`.

:class:`Status` is the one place the controller's threads record what happened; the HTTP handlers only read it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import statuspage, target_metrics
from reconciler import version as build
from reconciler.errors import ReconcilerError
from reconciler.http_limits import BoundedHTTPServer, Limits
from reconciler.kube.resources import RESOURCES
from reconciler.prometheus_text import labels as _labels
from reconciler.prometheus_text import number as _number
from reconciler.webhook import Webhook

if TYPE_CHECKING:
    from reconciler.signatures import Verdict

log = logging.getLogger("reconciler.server")

DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
MAX_CHANGES = 20  # per target, in /status and on the status page
# Every counter is exported from the start, at 0, so rate() and increase() see its first event.
SOURCE_COUNTERS = ("reconciler_git_checks_total", "reconciler_git_fetches_total", "reconciler_git_force_pushes_total",
                   "reconciler_git_fetch_errors_total", "reconciler_invalid_revisions_total")
WEBHOOK_RESULTS = ("accepted", "bad-signature", "busy", "disabled")
CLUSTER_COUNTERS = ("reconciler_objects_applied_total", "reconciler_objects_pruned_total",
                    "reconciler_objects_orphaned_total", "reconciler_drift_corrected_total", "reconciler_errors_total")
# Writes are counted per cluster and resource (plural) as they are sent: one series per kind the reconciler writes.
WRITTEN_RESOURCES = tuple(sorted(resource.plural for resource in RESOURCES.values()))
RECONCILE_RESULTS = ("success", "failure", "refused", "held")
# The page has no script and loads nothing: a value that escaped its escaping still could not run or call out.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class TargetStatus:
    environment: str
    state: str = "pending"  # pending | converged | refused | conflict | held | failed | removed
    revision: str | None = None  # the revision last converged on this target
    last_error: str | None = None
    last_sync_time: str | None = None
    pending_changes: int = 0
    drift_corrected: int = 0  # objects put back at the last sync of a revision already applied
    quota: dict[str, dict[str, str | None]] = field(default_factory=dict)  # see reconciler.quota.Usage
    agent: dict[str, Any] | None = None  # state, ready, wanted, detail: the agent Deployment as the API reports it
    objects: list[str] = field(default_factory=list)  # what the reconciler manages in the target
    changes: list[dict[str, str]] = field(default_factory=list)  # the last changes written, newest first


@dataclass
class ClusterStatus:
    state: str = "pending"  # pending | converging | converged | refused | held | failed | standby
    revision: str | None = None  # the revision last converged on every target of the cluster
    converging_revision: str | None = None
    last_error: str | None = None
    last_sync_time: str | None = None
    last_attempt_time: str | None = None
    failures: int = 0  # consecutive failed attempts
    next_retry_in_seconds: float | None = None
    written_this_sync: int = 0
    targets: dict[str, TargetStatus] = field(default_factory=dict)


@dataclass
class SyncOutcome:
    """One converge of one cluster, as the controller interpreted it."""

    state: str
    revision: str
    duration: float
    applied: int = 0
    pruned: int = 0
    orphaned: int = 0
    drift: int = 0
    errors: list[str] = field(default_factory=list)
    writes: int = 0
    targets: dict[str, TargetStatus] = field(default_factory=dict)


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * len(DURATION_BUCKETS)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for index, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.counts[index] += 1


class Status:
    """The controller's state, written by its threads and read by the HTTP server."""

    def __init__(self, repository: str, branch: str, path: str, identity: str, leader_elect: bool) -> None:
        self._lock = threading.Lock()
        self.source: dict[str, Any] = {"repository": repository, "branch": branch, "path": path or ".",
                                       "remoteHead": None, "lastCheckTime": None, "head": None,
                                       "lastFetchTime": None, "lastFetchError": None, "forcePushes": 0,
                                       "lastForcePush": None}
        self.revision: str | None = None  # the last valid revision, being applied
        self.bad_revision: dict[str, Any] | None = None
        self.held_revision: dict[str, Any] | None = None  # the branch's head, not applied, and why
        self.clusters: dict[str, ClusterStatus] = {}
        self.leader: dict[str, Any] = {"enabled": leader_elect, "identity": identity, "isLeader": not leader_elect,
                                       "holder": None}
        self.state = "starting"
        self._synced_once = False
        self._heartbeat = time.monotonic()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._durations: dict[str, _Histogram] = {}
        for name in SOURCE_COUNTERS:
            self._counters[(name, ())] = 0.0
        for result in WEBHOOK_RESULTS:
            self._counters[("reconciler_webhook_requests_total", (("result", result),))] = 0.0

        self._unauthorized: dict[str, float | None] = {}
        self.auth_grace = 600.0  # seconds of 401s from every cluster before /readyz fails

    def _known_cluster(self, name: str) -> ClusterStatus:
        """The cluster's status, with its counters and histogram at 0 the first time it is seen. Holds the lock."""
        if name not in self._durations:
            self._durations[name] = _Histogram()
            for counter in CLUSTER_COUNTERS:
                self._counters.setdefault((counter, (("cluster", name),)), 0.0)
            for result in RECONCILE_RESULTS:
                self._counters.setdefault(("reconciler_reconciles_total", (("cluster", name), ("result", result))), 0.0)
            for resource in WRITTEN_RESOURCES:
                self._counters.setdefault(
                    ("reconciler_write_requests_total", (("cluster", name), ("resource", resource))), 0.0)
        return self.clusters.setdefault(name, ClusterStatus())

    # -- written by the controller ---------------------------------------------------------------------------------

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0.0) + amount

    def heartbeat(self) -> None:
        with self._lock:
            self._heartbeat = time.monotonic()

    def set_state(self, state: str) -> None:
        with self._lock:
            self.state = state

    def checked(self, head: str) -> None:
        """The branch was looked at (ls-remote) and points to ``head``."""
        with self._lock:
            self.source.update(remoteHead=head, lastCheckTime=now_text(), lastFetchError=None)
        self.count("reconciler_git_checks_total")

    def fetched(self, head: str, forced_from: str | None = None) -> None:
        with self._lock:
            self.source.update(head=head, lastFetchTime=now_text(), lastFetchError=None)
            if forced_from:
                self.source["forcePushes"] += 1
                self.source["lastForcePush"] = {"from": forced_from, "to": head, "at": now_text()}
        self.count("reconciler_git_fetches_total")
        if forced_from:
            self.count("reconciler_git_force_pushes_total")

    def fetch_failed(self, error: str) -> None:
        with self._lock:
            self.source.update(lastFetchError=error, lastFetchTime=now_text())
        self.count("reconciler_git_fetch_errors_total")

    def revision_valid(self, revision: str) -> None:
        with self._lock:
            self.revision = revision
            self.held_revision = None

    def require_signatures(self, allowed_signers: Path | None, gpg_keys: Path | None) -> None:
        with self._lock:
            self.source["signatures"] = {"required": True,
                                         "allowedSigners": str(allowed_signers) if allowed_signers else None,
                                         "gpgKeys": str(gpg_keys) if gpg_keys else None, "lastVerified": None}

    def signature_verified(self, verdict: Verdict) -> None:
        with self._lock:
            self.source["signatures"]["lastVerified"] = {"revision": verdict.commit, "signer": verdict.signer,
                                                         "key": verdict.key, "at": now_text()}
        self.count("reconciler_signatures_verified_total")

    def signature_held(self, verdict: Verdict) -> None:
        """A commit that no listed key signed: shown until a later commit is applied, counted by reason."""
        with self._lock:
            self.held_revision = {"revision": verdict.brought_by or verdict.commit, "cause": "signature",
                                  "reason": verdict.reason, "commit": verdict.commit,
                                  "signer": verdict.signer or None, "key": verdict.key or None,
                                  "message": verdict.describe(), "keptRevision": self.revision, "seenAt": now_text()}
        self.count("reconciler_revisions_held_total", cause="signature", reason=str(verdict.reason))

    def revision_held(self, revision: str, findings: list[str]) -> None:
        """A valid revision that the risk rules block: not applied until a later commit resolves the findings."""
        with self._lock:
            self.held_revision = {"revision": revision, "cause": "risk", "reason": "blocking-finding",
                                  "findings": findings, "message": "; ".join(findings),
                                  "keptRevision": self.revision, "seenAt": now_text()}
        self.count("reconciler_revisions_held_total", cause="risk", reason="blocking-finding")

    def revision_invalid(self, revision: str, errors: list[str]) -> None:
        with self._lock:
            self.bad_revision = {"revision": revision, "errors": errors, "seenAt": now_text()}
        self.count("reconciler_invalid_revisions_total")

    def set_leader(self, is_leader: bool, holder: str | None, cluster: str | None = None,
                   error: str | None = None) -> None:
        """Leadership of one cluster (its Lease), or of every cluster when ``cluster`` is None; ``error`` says why
        the Lease cannot be reached."""
        with self._lock:
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
        with self._lock:
            self._unauthorized[cluster] = unauthorized_since

    def _credentials_refused(self) -> bool:
        """Every cluster has refused the credentials for longer than ``auth_grace``: a restart may be the cure."""
        now = time.monotonic()
        since = [self._unauthorized.get(name) for name in self.clusters]
        return bool(since) and all(s is not None and now - s > self.auth_grace for s in since)

    def cluster(self, name: str) -> ClusterStatus:
        with self._lock:
            return self._known_cluster(name)

    def forget_cluster(self, name: str) -> None:
        with self._lock:
            self.clusters.pop(name, None)

    def converging(self, name: str, revision: str) -> None:
        with self._lock:
            cluster = self._known_cluster(name)
            cluster.state, cluster.converging_revision, cluster.written_this_sync = "converging", revision, 0
            cluster.last_attempt_time = now_text()

    def progress(self, name: str) -> None:
        with self._lock:
            self.clusters.setdefault(name, ClusterStatus()).written_this_sync += 1

    def unreachable(self, name: str, error: str) -> None:
        """A cluster that failed before its worker got to it (a check of a new revision): shown failed at once;
        its worker's next converge says what happened then."""
        with self._lock:
            cluster = self._known_cluster(name)
            cluster.state, cluster.last_error = "failed", error
            for target in cluster.targets.values():
                target.state, target.last_error = "failed", error

    def synced(self, name: str, outcome: SyncOutcome, failures: int, retry_in: float | None) -> None:
        with self._lock:
            cluster = self._known_cluster(name)
            cluster.state, cluster.failures, cluster.next_retry_in_seconds = outcome.state, failures, retry_in
            cluster.converging_revision = None
            cluster.last_error = "; ".join(outcome.errors) or None
            if outcome.state == "converged":
                cluster.revision = outcome.revision
                cluster.last_sync_time = now_text()
                self._synced_once = True
            if outcome.targets or outcome.state != "failed":
                for namespace, target in outcome.targets.items():
                    before = cluster.targets.get(namespace)
                    if target.revision is None and before is not None:  # still runs what it ran before
                        target.revision, target.last_sync_time = before.revision, before.last_sync_time
                    if before is not None:
                        target.changes = (target.changes + before.changes)[:MAX_CHANGES]
                cluster.targets = outcome.targets
            else:
                for target in cluster.targets.values():
                    target.state, target.last_error = "failed", cluster.last_error
            self._durations.setdefault(name, _Histogram()).observe(outcome.duration)
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
                "clusters": {name: _camel(asdict(cluster)) for name, cluster in sorted(self.clusters.items())},
            }

    def metrics(self) -> str:
        lines: list[str] = []
        with self._lock:
            counters = sorted(self._counters.items())
            durations = sorted(self._durations.items())
            clusters = sorted(self.clusters.items())
            is_leader = self.leader["isLeader"]
            synced = self._synced_once
            head_invalid = bool(self.bad_revision and self.bad_revision["revision"] == self.source["head"])
            held = self.held_revision is not None
        lines.extend(build.build_info_metric())
        seen: set[str] = set()
        for (name, labels), value in counters:
            if name not in seen:
                seen.add(name)
                lines.append(f"# TYPE {name} counter")
            lines.append(f"{name}{_labels(dict(labels))} {_number(value)}")
        lines.append("# HELP reconciler_reconcile_duration_seconds Time to converge one cluster.")
        lines.append("# TYPE reconciler_reconcile_duration_seconds histogram")
        name = "reconciler_reconcile_duration_seconds"
        for cluster, histogram in durations:
            for bound, count in zip(DURATION_BUCKETS, histogram.counts, strict=True):
                lines.append(f"{name}_bucket{_labels({'cluster': cluster, 'le': str(bound)})} {count}")
            lines.append(f"{name}_bucket{_labels({'cluster': cluster, 'le': '+Inf'})} {histogram.total}")
            lines.append(f"{name}_sum{_labels({'cluster': cluster})} {histogram.sum:.6f}")
            lines.append(f"{name}_count{_labels({'cluster': cluster})} {histogram.total}")
        lines.append("# HELP reconciler_applied_revision The git revision last converged on each target (value 1).")
        lines.append("# TYPE reconciler_applied_revision gauge")
        for cluster, state in clusters:
            for namespace, target in sorted(state.targets.items()):
                if target.revision:
                    revision = {"cluster": cluster, "namespace": namespace, "environment": target.environment,
                                "revision": target.revision}
                    lines.append(f"reconciler_applied_revision{_labels(revision)} 1")
        lines.append("# TYPE reconciler_cluster_consecutive_failures gauge")
        for cluster, state in clusters:
            lines.append(f"reconciler_cluster_consecutive_failures{_labels({'cluster': cluster})} {state.failures}")
        lines += target_metrics.target_lines(clusters)
        lines.append("# HELP reconciler_revision_invalid 1 while the branch's head is an invalid revision.")
        lines.append("# TYPE reconciler_revision_invalid gauge")
        lines.append(f"reconciler_revision_invalid {int(head_invalid)}")
        lines.append("# HELP reconciler_revision_held 1 while the branch's newest valid revision is held by a "
                     "blocking risk finding.")
        lines.append("# TYPE reconciler_revision_held gauge")
        lines.append(f"reconciler_revision_held {int(held)}")
        lines.append("# TYPE reconciler_leader gauge")
        lines.append(f"reconciler_leader {int(is_leader)}")
        lines.append("# TYPE reconciler_ready gauge")
        lines.append(f"reconciler_ready {int(synced)}")
        return "\n".join(lines) + "\n"


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) if k != "targets" else {n: _camel(t) for n, t in v.items()}
                for k, v in value.items()}
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)




class Server:
    """The HTTP endpoints, served from a daemon thread."""

    def __init__(self, status: Status, address: str, *, trigger: Callable[[], None], webhook_secret: str | None,
                 stale_after: float) -> None:
        host, _, port = address.rpartition(":")
        self.status = status
        self.trigger = trigger
        self.webhook_secret = webhook_secret
        self.stale_after = stale_after
        try:
            self.httpd = BoundedHTTPServer((host or "0.0.0.0", int(port)), self._handler(), Limits())
        except (OSError, ValueError) as exc:
            raise ReconcilerError(f"cannot listen on {address!r} (--listen): {exc}") from exc
        self.webhook = Webhook(status, webhook_secret, trigger, self.httpd.limits)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()
        log.info("serving / /healthz /readyz /metrics /status /hooks/git", extra={"listen": self.address})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "reconciler"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("http " + format % args)

            def _send(self, code: int, body: str, content_type: str = "text/plain; charset=utf-8",
                      headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                for header, value in (headers or {}).items():
                    self.send_header(header, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    alive = server.status.alive(server.stale_after)
                    self._send(200 if alive else 500, "ok\n" if alive else "the source loop is stuck\n")
                elif path == "/readyz":
                    ready = server.status.ready
                    self._send(200 if ready else 503, "ready\n" if ready else server.status.not_ready_reason())
                elif path == "/metrics":
                    self._send(200, server.status.metrics(), "text/plain; version=0.0.4; charset=utf-8")
                elif path == "/status":
                    self._send(200, json.dumps(server.status.snapshot(), indent=1) + "\n", "application/json")
                elif statuspage.serves(path):
                    code, page = statuspage.route(path, server.status.snapshot())
                    self._send(code, page, "text/html; charset=utf-8", PAGE_HEADERS)
                else:
                    self._send(404, "not found: try / /healthz /readyz /metrics /status\n")

            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != "/hooks/git":
                    self._send(404, "not found: the webhook is POST /hooks/git\n")
                    return
                self.close_connection = True  # an unread body must not be taken for the next request
                self._send(*server.webhook.handle(self.headers, self.rfile, self.client_address[0]))

        return Handler
