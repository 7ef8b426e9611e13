"""The in-cluster loop: follow a branch, converge every valid commit on every cluster, undo drift.

One source loop (the main thread) checks the branch with ``git ls-remote`` every interval (with jitter) or at once
when the webhook calls; a new commit is fetched, checked out read-only and validated. A bad revision changes
nothing: the last good one stays the one applied, and the errors are reported (``/status``, logs). A good one is
offered to one worker thread per cluster, so clusters converge in parallel and independently: a cluster that fails
is retried alone with exponential backoff, and the others are not re-applied. Each worker also re-converges its
cluster every resync period, which undoes drift (a no-op converge sends no writes).

Stopping (SIGTERM, SIGINT) lets every worker finish the object it is writing, then exits with status 0: the
converge's progress callback raises :class:`Stopped` after each write once a stop is requested. With
``--leader-elect`` each worker holds its cluster's Lease on that cluster (:mod:`reconciler.leases`), and its
client's write guard refuses every write unless that Lease is held with margin (:mod:`reconciler.kube.fence`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from reconciler import converge, events, hold_base, revision_events, risk_hold, signatures, target_facts
from reconciler.config.guardrails import Guardrails
from reconciler.config.model import Cluster, ClusterConnection, Landscape
from reconciler.converge import ClusterResult
from reconciler.errors import InvalidRepository, Location, ReconcilerError
from reconciler.kube import events as kube_events
from reconciler.kube.client import ClusterClient
from reconciler.kube.connect import connect, verify_worker
from reconciler.kube.errors import KubeError
from reconciler.kube.fence import Fenced
from reconciler.leases import ClusterLease, LeaseSettings
from reconciler.server import Server, Status, SyncOutcome, TargetStatus
from reconciler.source import GitError, Mirror, Remote, remove_tree
from reconciler.startguardrails import StartGuardrails

log = logging.getLogger("reconciler.controller")

FIRST_BACKOFF = 1.0
MIN_CHECK_GAP = 0.5  # webhook calls are coalesced: one check in flight, and at most two checks a second
def read_secret(path: Path | None, variable: str) -> str | None:
    """A secret from a file (trailing newline dropped) or, without one, from an environment variable."""
    if path is not None:
        try:
            return path.read_text().strip() or None
        except OSError as exc:
            raise ReconcilerError(f"cannot read the secret file {path}: {exc.strerror}") from exc
    return os.environ.get(variable) or None


@dataclass(frozen=True)
class Settings:
    repo: str
    branch: str = "main"
    path: str = ""
    interval: float = 30.0
    resync: float = 300.0
    cluster: str | None = None
    listen: str = ":8080"
    kubeconfig: Path | None = None
    contexts: tuple[str, ...] = ()  # --context [CLUSTER=]CONTEXT, applied to every revision's clusters
    workdir: Path = field(default_factory=lambda: Path(os.environ.get("TMPDIR", "/tmp")) / "reconciler")
    leader_elect: bool = False
    lease_namespace: str = "reconciler-system"
    lease_cluster: str | None = None  # accepted and ignored: each cluster's Lease lives on that cluster
    lease_name: str | None = None
    lease_duration: float = 15.0
    identity: str = field(default_factory=lambda: f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}")
    max_backoff: float = 300.0
    git_token: str | None = field(default=None, repr=False)
    git_username: str | None = None
    ssh_key: Path | None = None
    known_hosts: Path | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    verify_signatures: Path | None = None  # an SSH allowed-signers file: only commits signed by its keys apply
    verify_gpg_keys: Path | None = None  # an exported GPG public keyring, the same for GPG-signed commits
    guardrails: Guardrails | None = None  # from --guardrails FILE; the clusters' own are read at start
    approvals: Path | None = None  # commits released from a risk hold by a person, outside git (hold_base)


class Stopped(Exception):
    """Raised after a write when the controller must stop writing (shutdown, or the lease was lost)."""


@dataclass(frozen=True)
class Desired:
    revision: str
    landscape: Landscape


def backoff(failures: int, ceiling: float) -> float:
    """Seconds before the next attempt after ``failures`` consecutive failures: 1, 2, 4, ... up to ``ceiling``,
    with 20% jitter so replicas and clusters do not retry in step."""
    base = min(ceiling, FIRST_BACKOFF * 2.0 ** max(0, failures - 1))
    return base * random.uniform(0.8, 1.2)


def outcome_of(result: ClusterResult, revision: str, duration: float, drift: bool) -> SyncOutcome:
    """How one cluster's converge went, per target, in the terms /status and /metrics use."""
    cluster_wide = events.unattributed_errors(result)
    targets: dict[str, TargetStatus] = {}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for plan in result.targets:
        errors = events.errors_of(result, plan.namespace) + cluster_wide
        if errors:
            state = "failed"
        elif plan.refusals:
            state = "refused"  # a protected environment's removal too: nothing of it was changed
        elif plan.removed:
            state = "removed"
        elif plan.by_action("conflict"):
            state = "conflict"
        elif plan.held:
            state = "held"
        else:
            state = "converged"
        last_error = "; ".join(errors + plan.refusals + ([plan.held] if plan.held else [])) or None
        targets[plan.namespace] = TargetStatus(
            environment=plan.environment, state=state, revision=revision if state == "converged" else None,
            last_error=last_error, last_sync_time=now if state == "converged" else None,
            pending_changes=0 if state == "converged" else len(plan.by_action("create", "update", "delete",
                                                                              "orphan")))
    if result.errors:
        state = "failed"
    elif result.failed:
        state = "refused"
    elif any(plan.held for plan in result.targets):
        state = "held"
    else:
        state = "converged"
    target_facts.add_facts(targets, result, revision, drift, now)
    changed = len(result.applied) + len(result.deleted) + len(result.orphaned)
    return SyncOutcome(state=state, revision=revision, duration=duration, applied=len(result.applied),
                       pruned=len(result.deleted), orphaned=len(result.orphaned), drift=changed if drift else 0,
                       errors=list(result.errors), writes=result.writes, targets=targets)


class ClusterWorker:
    """Converges one cluster: on a new revision, on retry after a failure (with backoff), and on resync."""

    def __init__(self, name: str, controller: Controller) -> None:
        self.name = name
        self.controller = controller
        self.wake = threading.Event()
        self.desired: Desired | None = None
        self.applied: str | None = None  # the revision last converged without error
        self.attempted: str | None = None
        self.failures = 0
        self.retry_at: float | None = None
        self.resync_at = 0.0
        self.force = False
        self.retired = False  # the cluster left the repository
        self.client: ClusterClient | None = None
        self.lease: ClusterLease | None = None
        self._connection: tuple[str, ClusterConnection] | None = None
        self.thread = threading.Thread(target=self._loop, name=f"cluster-{name}", daemon=True)

    def offer(self, desired: Desired) -> None:
        self.desired = desired
        self.wake.set()

    def _due(self, now: float) -> bool:
        desired = self.desired
        if desired is None or not self.may_write():
            return False
        if self.force or desired.revision != self.attempted:
            return True
        if self.retry_at is not None:
            return now >= self.retry_at
        return now >= self.resync_at

    def _next_wake(self, now: float) -> float:
        if not self.may_write():
            return self.controller.settings.resync  # woken when this replica becomes the leader
        if self.retry_at is not None:
            return max(0.05, self.retry_at - now)
        return max(0.05, min(self.resync_at - now, self.controller.settings.resync))

    def may_write(self) -> bool:
        if not self.controller.settings.leader_elect:
            return True
        return self.lease is not None and self.lease.may_write()

    def _guard(self, subject: str) -> None:
        """Every write of this cluster's client passes here first (see reconciler.kube.fence)."""
        if self.controller.stop.is_set() or self.retired:
            raise Fenced(self.name, subject, "the reconciler is stopping")
        if self.controller.settings.leader_elect:
            if self.lease is None:
                raise Fenced(self.name, subject, "leader election has not started for this cluster")
            self.lease.fence(subject)

    def _loop(self) -> None:
        stop = self.controller.stop
        while not stop.is_set() and not self.retired:
            self._ensure_lease()
            self.wake.wait(self._next_wake(time.monotonic()))
            self.wake.clear()
            if stop.is_set() or self.retired:
                break
            if self._due(time.monotonic()):
                try:
                    self.sync()
                except (Stopped, Fenced) as reason:
                    log.info("stopped writing", extra={"cluster": self.name, "reason": str(reason)})
                    if isinstance(reason, Fenced) and self.lease is not None:
                        self.controller.status.set_leader(False, self.lease.elector.holder, cluster=self.name)
                except Exception:
                    log.exception("unexpected error while converging", extra={"cluster": self.name})
                    self._failed("unexpected error; see the reconciler's log")
        if self.lease is not None:
            self.lease.close()  # after the last write: releases the Lease for a standby
        if self.client is not None:
            self.client.close()

    def _ensure_lease(self) -> None:
        """With --leader-elect: start competing for this cluster's Lease (once; retried while it cannot)."""
        desired = self.desired
        if not self.controller.settings.leader_elect or self.lease is not None or desired is None:
            return
        try:
            self.lease = ClusterLease(desired.landscape.clusters[self.name], self.controller.lease_settings,
                                      self.controller.settings.kubeconfig, self.controller.on_leadership)
        except ReconcilerError as error:
            self._failed(f"cannot start leader election on this cluster: {error}")
            return
        self.controller.status.set_leader(False, None, cluster=self.name)
        self.lease.start()
        log.info("leader election started", extra={"lease": self.lease.elector.where,
                                                   "identity": self.controller.settings.identity})

    def _connect(self, landscape: Landscape) -> ClusterClient:
        cluster = landscape.clusters[self.name]
        key = (self.name, cluster.connection)
        if self.client is None or self._connection != key:
            if self.client is not None:
                self.client.close()
            self.client, self._connection = None, None
            client = connect(cluster, self.controller.settings.kubeconfig)
            try:
                verify_worker(cluster, client, landscape.clusters, self.controller.settings.kubeconfig)
            except ReconcilerError:
                client.close()
                raise
            client.guard = self._guard
            client.on_write = self._count_write
            self.client, self._connection = client, key
        return self.client

    def _count_write(self, resource: str) -> None:
        self.controller.status.count("reconciler_write_requests_total", cluster=self.name, resource=resource)

    def _progress(self, message: str) -> None:
        self.controller.status.progress(self.name)
        log.info(message, extra={"cluster": self.name})
        if self.controller.stop.is_set():
            raise Stopped("shutting down after the object just written")

    def sync(self) -> None:
        desired = self.desired
        assert desired is not None
        self.force = False
        self.attempted = desired.revision
        status = self.controller.status
        status.converging(self.name, desired.revision)
        started = time.monotonic()
        try:
            client = self._connect(desired.landscape)
        except ReconcilerError as error:
            self._failed(str(error))
            return
        drift = self.applied == desired.revision
        targets = desired.landscape.select(cluster=self.name)
        options = converge.ConvergeOptions(revision=desired.revision, applied_by="controller")
        result = converge.converge(desired.landscape, {self.name: client}, options, targets, self._progress)[0]
        outcome = outcome_of(result, desired.revision, time.monotonic() - started, drift)
        retry_in: float | None = None
        if outcome.state == "failed":
            self.failures += 1
            retry_in = backoff(self.failures, self.controller.settings.max_backoff)
            self.retry_at = time.monotonic() + retry_in
            log.warning("converge failed; retrying this cluster alone", extra={
                "cluster": self.name, "revision": desired.revision, "errors": result.errors,
                "failures": self.failures, "retryInSeconds": round(retry_in, 1)})
        else:
            self.failures, self.retry_at = 0, None
            self.resync_at = time.monotonic() + self.controller.settings.resync
            if outcome.state == "converged":
                self.applied = desired.revision
            log.log(logging.INFO if outcome.state == "converged" else logging.WARNING,
                    "drift undone" if outcome.drift else outcome.state, extra={
                        "cluster": self.name, "revision": desired.revision, "applied": outcome.applied,
                        "pruned": outcome.pruned, "orphaned": outcome.orphaned, "writes": outcome.writes,
                        "seconds": round(outcome.duration, 2),
                        "refusals": [r for t in result.targets for r in t.refusals] or None})
        status.synced(self.name, outcome, self.failures, retry_in)
        status.authentication(self.name, client.unauthorized_since)
        self._record_events(client, result, desired.revision, drift)

    def _failed(self, error: str) -> None:
        self.failures += 1
        retry_in = backoff(self.failures, self.controller.settings.max_backoff)
        self.retry_at = time.monotonic() + retry_in
        revision = self.desired.revision if self.desired else ""
        log.warning("cannot converge this cluster; retrying it alone", extra={
            "cluster": self.name, "error": error, "failures": self.failures, "retryInSeconds": round(retry_in, 1)})
        self.controller.status.synced(self.name, SyncOutcome("failed", revision, 0.0, errors=[error]), self.failures,
                                      retry_in)

    def _record_events(self, client: ClusterClient, result: ClusterResult, revision: str, drift: bool) -> None:
        for notice in events.notices(result, revision, drift):
            try:
                kube_events.record(client, notice.namespace, notice.reason, notice.message, warning=notice.warning,
                                   instance=self.controller.settings.identity)
            except KubeError as error:
                log.debug("event not recorded", extra={"cluster": self.name, "error": str(error)})


class Controller:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        remote = Remote.parse(settings.repo, settings.branch, token=settings.git_token, ssh_key=settings.ssh_key,
                              known_hosts=settings.known_hosts)
        if settings.git_username:
            remote = Remote(remote.url, remote.branch, remote.token, settings.git_username, remote.ssh_key,
                            remote.known_hosts)
        self.remote = remote
        self.status = Status(remote.shown, settings.branch, settings.path, settings.identity, settings.leader_elect)
        self.status.auth_grace = max(10.0, 2 * settings.max_backoff)
        self.stop = threading.Event()
        self.trigger = threading.Event()
        self.workers: dict[str, ClusterWorker] = {}
        self.desired: Desired | None = None
        self.seen: str | None = None  # the last commit validated, good or bad
        lease_name = settings.lease_name or ("reconciler" + (f"-{settings.cluster}" if settings.cluster else ""))
        self.lease_settings = LeaseSettings(settings.lease_namespace, lease_name, settings.identity,
                                            settings.lease_duration)
        self._lock_file: IO[str] | None = None
        self.mirror = Mirror(remote, settings.workdir / "mirror.git")
        self.trees = settings.workdir / "trees"
        self._unreachable_now: set[str] = set()  # clusters that did not answer a check of the revision in hand
        self.trusted_keys: signatures.TrustedKeys | None = None  # set at start when commits must be signed
        self.guardrails = StartGuardrails(settings.guardrails, settings.kubeconfig, settings.cluster,
                                          settings.contexts)

    # -- leadership --------------------------------------------------------------------------------------------------

    def on_leadership(self, cluster: str, leading: bool, holder: str | None, error: str | None) -> None:
        self.status.set_leader(leading, holder, cluster=cluster, error=error)
        worker = self.workers.get(cluster)
        if leading and worker is not None:
            worker.force = True  # another replica may have applied something else meanwhile
            worker.wake.set()

    def may_write(self) -> bool:
        """Whether this replica writes anywhere: without leader election always, else while it leads a cluster."""
        if not self.settings.leader_elect:
            return True
        return any(worker.may_write() for worker in list(self.workers.values()))

    def _home_cluster(self, landscape: Landscape | None) -> Cluster:
        """The cluster the controller itself runs on, for what belongs to no target (an invalid revision's Event):
        its own cluster when in-cluster, else the one it is confined to, else the first of the repository."""
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            return Cluster("in-cluster", ClusterConnection(in_cluster=True), {}, Location("in-cluster", 0))
        if landscape is None or not landscape.clusters:
            raise ReconcilerError("no valid revision yet names the clusters")
        name = self.settings.cluster if self.settings.cluster in landscape.clusters else sorted(landscape.clusters)[0]
        return landscape.clusters[name]

    # -- the source loop ---------------------------------------------------------------------------------------------

    def check_source(self) -> None:
        """Fetch the branch if it moved; validate the new revision and hand it to the cluster workers."""
        try:
            head = self.mirror.ls_remote()
            self.status.checked(head)
            if head == self.seen:
                if self._approved_since(head):
                    self._validate(head)
                return
            update = self.mirror.fetch()
        except GitError as error:
            self.status.fetch_failed(str(error))
            log.warning("cannot read the branch; keeping the revision applied", extra={"error": str(error)})
            return
        forced_from = update.previous if update.forced else None
        self.status.fetched(update.commit, forced_from)
        if update.forced:
            log.warning("the branch was force-pushed: following it", extra={
                "branch": self.settings.branch, "from": update.previous, "to": update.commit})
        if update.commit != self.seen:
            self._validate(update.commit)

    def _approved_since(self, commit: str) -> bool:
        """A commit held by the risk rules is judged again once the approvals file lists it."""
        held = self.status.held_revision
        if held is None or held.get("revision") != commit or held.get("cause") != "risk":
            return False
        try:
            return hold_base.approved(self.settings.approvals, commit)
        except ReconcilerError:
            return False

    def _validate(self, commit: str) -> None:
        self.seen = commit
        self._unreachable_now.clear()
        if self._held_unsigned(commit):
            return
        tree = self.trees / commit
        try:
            if not tree.exists():
                self.mirror.checkout(commit, tree)
            landscape = self.guardrails.load(tree / self.settings.path)
            if self.settings.cluster and self.settings.cluster not in landscape.clusters:
                raise ReconcilerError(f"--cluster {self.settings.cluster}: no such cluster in the repository; "
                                      f"known: {', '.join(sorted(landscape.clusters))}")
        except InvalidRepository as invalid:
            prefix = f"{self.settings.path.strip('/')}/" if self.settings.path.strip("/") else ""
            self._reject(commit, [prefix + str(error) for error in invalid.errors])
            return
        except ReconcilerError as error:
            self._reject(commit, [str(error)])
            return
        if self._held_by_policy(commit, landscape) or self._refused_by_api_servers(commit, landscape):
            return
        log.info("new revision is valid; converging", extra={"revision": commit, "summary": landscape.summary()})
        self.status.revision_valid(commit)
        self.desired = Desired(commit, landscape)
        self._clean_trees(keep=commit)
        self._dispatch(self.desired)

    def _held_unsigned(self, commit: str) -> bool:
        """With --verify-signatures/--verify-gpg-keys: hold a commit git does not verify against a listed key (the
        last good revision stays applied). Called once per commit, so the hold is logged once."""
        if self.trusted_keys is None:
            return False
        try:
            applied = self.desired.revision if self.desired else None
            verdict = signatures.verify_new(self.mirror.directory, commit, applied, self.trusted_keys)
        except ReconcilerError as error:
            verdict = signatures.Verdict(commit, "", "", "", "not-verified")
            log.error("cannot verify the commit's signature", extra={"revision": commit, "error": str(error)})
        if verdict.accepted:
            self.status.signature_verified(verdict)
            log.info("commit signature verified", extra={"revision": commit, "signer": verdict.signer,
                                                         "key": verdict.key})
            return False
        applied = self.desired.revision if self.desired else None
        self.status.signature_held(verdict)
        log.warning("commit is not signed by a listed key: held, nothing from it is applied", extra={
            "revision": commit, "reason": verdict.reason, "key": verdict.key or None,
            "signer": verdict.signer or None, "keptRevision": applied, "detail": verdict.describe()})
        self._announce_held(commit, None, verdict.describe())
        return True

    def _held_by_policy(self, commit: str, landscape: Landscape) -> bool:
        """Judge the change from the revision the clusters run with the risk rules; hold it when one blocks."""
        clusters = [self.settings.cluster] if self.settings.cluster else sorted(landscape.clusters)

        def connect_to(cluster: Cluster) -> ClusterClient:
            return connect(cluster, self.settings.kubeconfig)

        base = self.desired or self._applied_base(commit, landscape, clusters, connect_to)
        if base is None:
            return False  # nothing applied yet (or its revision is unknown): no base to judge the change against
        usage = risk_hold.live_usage(base.landscape, landscape, clusters, connect_to, self._unreachable)
        hold = risk_hold.judge(commit, base.landscape, landscape, usage)
        if hold is None:
            return False
        try:
            if hold_base.approved(self.settings.approvals, commit):
                log.warning("revision has blocking risk findings but is approved in the approvals file: applied",
                            extra={"revision": commit, "findings": hold.reasons(),
                                   "approvals": str(self.settings.approvals)})
                return False
        except ReconcilerError as error:
            log.error("cannot read the approvals file; the revision stays held", extra={"error": str(error)})
        log.error("revision is held by the risk rules: nothing from it is applied", extra={
            "revision": commit, "keptRevision": base.revision, "findings": hold.reasons()})
        risk_hold.announce(hold, landscape, clusters, connect_to, self.settings.identity)
        self._announce_held(commit, landscape, hold.message())
        self.status.revision_held(commit, hold.reasons())  # after the Events: /status shows a hold told everywhere
        remove_tree(self.trees / commit)
        return True

    def _applied_base(self, commit: str, landscape: Landscape, clusters: list[str],
                      connect_to: Callable[[Cluster], ClusterClient]) -> Desired | None:
        """After a restart: the revision the targets' inventories record, as the base of the risk rules."""
        clients = []
        for name in clusters:
            try:
                clients.append(connect_to(landscape.clusters[name]))
            except ReconcilerError:
                continue  # that cluster's worker reports it
        try:
            revision = hold_base.applied_revision(clients, landscape.platform.name)
        finally:
            for client in clients:
                client.close()
        if revision is None or revision == commit:
            return None
        if not self.mirror.has(revision):
            log.warning("the revision the clusters run is not in the mirror's history: this commit is not judged "
                        "by the risk rules", extra={"revision": commit, "applied": revision})
            return None
        tree = self.trees / revision
        try:
            if not tree.exists():
                self.mirror.checkout(revision, tree)
            return Desired(revision, self.guardrails.load(tree / self.settings.path))
        except (InvalidRepository, ReconcilerError) as error:
            log.warning("the revision the clusters run cannot be read: this commit is not judged by the risk rules",
                        extra={"revision": commit, "applied": revision, "error": str(error)})
            return None

    def _leads(self, cluster: str) -> bool:
        """Whether this replica writes to ``cluster`` (always without leader election)."""
        if not self.settings.leader_elect:
            return True
        worker = self.workers.get(cluster)
        return worker is not None and worker.may_write()

    def _unreachable(self, cluster: str, error: str) -> None:
        """A cluster that did not answer a check of the new revision: failed on /status now, skipped by the checks
        that follow for this revision, converged (and retried) by its own worker."""
        self._unreachable_now.add(cluster)
        if self._leads(cluster):  # a standby shows why it does not lead, not what it could not read
            self.status.unreachable(cluster, error)

    def _refused_by_api_servers(self, commit: str, landscape: Landscape) -> bool:
        """Each worker dry-runs its own cluster, but a hub converges clusters independently: a revision that one
        API server refuses is rejected here first, so no cluster writes any of it (and, like an invalid one, it is
        not retried: it waits for the next commit)."""
        names = [self.settings.cluster] if self.settings.cluster else sorted(landscape.clusters)
        if not self.may_write():
            return False  # a standby writes nothing; the workers' own dry run guards it once it leads
        clients: dict[str, ClusterClient] = {}
        for name in names:
            if name in self._unreachable_now or not self._leads(name):
                continue  # it just failed to answer for this revision, or another replica leads it
            try:
                clients[name] = connect(landscape.clusters[name], self.settings.kubeconfig)
            except ReconcilerError:
                continue  # that cluster's worker reports it
        try:
            refused = converge.refused_by_api_servers(landscape, clients, landscape.targets, self._unreachable)
        finally:
            for client in clients.values():
                client.close()
        if refused:
            self._reject(commit, [str(failure) for failure in refused])
        return bool(refused)

    def _reject(self, commit: str, errors: list[str]) -> None:
        applied = self.desired.revision if self.desired else None
        self.status.revision_invalid(commit, errors)
        log.error("revision is invalid: nothing from it is applied", extra={
            "revision": commit, "keptRevision": applied, "errors": errors})
        self._announce_bad_revision(commit, applied, errors)
        remove_tree(self.trees / commit)

    def _announce_bad_revision(self, commit: str, applied: str | None, errors: list[str]) -> None:
        """A Warning Event in the controller's namespace, on the cluster it runs on."""
        try:
            home = self._home_cluster(self.desired.landscape if self.desired else None)
        except ReconcilerError as error:
            log.info("no Event for the invalid revision", extra={"revision": commit, "reason": str(error)})
            return
        revision_events.invalid(home, self.settings.kubeconfig, self.settings.lease_namespace,
                                self.settings.identity, commit, applied, errors)

    def _announce_held(self, commit: str, landscape: Landscape | None, why: str) -> None:
        """A Warning Event in the controller's namespace for a held revision, as for an invalid one."""
        try:
            home = self._home_cluster(landscape or (self.desired.landscape if self.desired else None))
        except ReconcilerError as error:
            log.info("no Event for the held revision", extra={"revision": commit, "reason": str(error)})
            return
        applied = self.desired.revision if self.desired else None
        revision_events.record(home, self.settings.kubeconfig, self.settings.lease_namespace, self.settings.identity,
                               revision_events.HELD_REASON, revision_events.held_message(commit, applied, why))

    def _dispatch(self, desired: Desired) -> None:
        names = [self.settings.cluster] if self.settings.cluster else sorted(desired.landscape.clusters)
        for name in names:
            if name not in self.workers:
                self.workers[name] = ClusterWorker(name, self)
                self.workers[name].thread.start()
            self.workers[name].offer(desired)
        for name in [n for n in self.workers if n not in names]:
            log.warning("cluster no longer in the repository: not converged any more; its objects stay",
                        extra={"cluster": name})
            worker = self.workers.pop(name)
            worker.retired = True
            worker.wake.set()
            self.status.forget_cluster(name)

    def _clean_trees(self, keep: str) -> None:
        if not self.trees.is_dir():
            return
        for tree in self.trees.iterdir():
            if tree.name != keep:
                remove_tree(tree)

    # -- process -----------------------------------------------------------------------------------------------------

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        if not self.stop.is_set():
            log.info("stopping: finishing the objects being written", extra={"signal": signum or None})
        self.status.set_state("stopping")
        self.stop.set()
        self.trigger.set()
        for worker in list(self.workers.values()):
            worker.wake.set()

    def _prepare_workdir(self) -> None:
        workdir = self.settings.workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(workdir / ".lock", "w")  # noqa: SIM115 - held for the life of the process
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ReconcilerError(f"another reconciler uses the work directory {workdir}; give each one its own "
                                  "--workdir") from exc
        for leftover in (self.trees, self.mirror.directory, workdir / "gnupg"):  # from a process that was killed
            remove_tree(leftover)
        if self.settings.verify_signatures or self.settings.verify_gpg_keys:
            self.trusted_keys = signatures.prepare(self.settings.verify_signatures, self.settings.verify_gpg_keys,
                                                   workdir / "gnupg")
            self.status.require_signatures(self.settings.verify_signatures, self.settings.verify_gpg_keys)

    def run(self) -> int:
        settings = self.settings
        self._prepare_workdir()
        stale_after = max(60.0, 3 * settings.interval + self.mirror.timeout)
        server = Server(self.status, settings.listen, trigger=self.trigger.set,
                        webhook_secret=settings.webhook_secret, stale_after=stale_after)
        server.start()
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.status.set_state("running")
        if settings.leader_elect and settings.lease_cluster:
            log.warning("--lease-cluster is ignored: each cluster's Lease lives on that cluster",
                        extra={"leaseCluster": settings.lease_cluster})
        log.info("following the branch", extra={"repository": self.remote.shown, "branch": settings.branch,
                                                 "path": settings.path or ".", "cluster": settings.cluster,
                                                 "intervalSeconds": settings.interval,
                                                 "resyncSeconds": settings.resync, "identity": settings.identity})
        try:
            while not self.stop.is_set():
                self.status.heartbeat()
                checked = time.monotonic()
                self.check_source()
                self.trigger.wait(settings.interval * random.uniform(0.9, 1.1))
                self.stop.wait(max(0.0, checked + MIN_CHECK_GAP - time.monotonic()))
                self.trigger.clear()
        finally:
            self.request_stop()
            for worker in self.workers.values():
                worker.thread.join(timeout=120)
            server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            remove_tree(self.trees)
            log.info("stopped")
        return 0
