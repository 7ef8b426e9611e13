"""The in-cluster loop: follow a branch, converge every valid commit on every cluster, undo drift.

One source loop (the main thread) checks the branch with ``git ls-remote`` every interval (with jitter) or at once
when the webhook calls; a new commit is fetched, checked out read-only and judged (:mod:`reconciler.controller.
revisions`). A bad revision changes nothing: the last good one stays the one applied, and the errors are reported
(``/status``, logs, Events). A good one is offered to one worker thread per cluster
(:mod:`reconciler.controller.worker`), so clusters converge in parallel and independently.

Stopping (SIGTERM, SIGINT) lets every worker finish the object it is writing, then exits with status 0: the
converge's progress callback raises :class:`~reconciler.controller.worker.Stopped` after each write once a stop is
requested. With ``--leader-elect`` each worker holds its cluster's Lease on that cluster
(:mod:`reconciler.controller.leases`), and its client's write guard refuses every write unless that Lease is held
with margin (:mod:`reconciler.kube.fence`).
"""

from __future__ import annotations

import fcntl
import logging
import random
import signal
import threading
import time
from types import FrameType
from typing import IO

from reconciler.config.model import Cluster
from reconciler.controller import hold_base, revisions
from reconciler.controller.clients import RevisionClients
from reconciler.controller.guardrails import StartGuardrails
from reconciler.controller.http import Server
from reconciler.controller.settings import Settings
from reconciler.controller.status import Status
from reconciler.controller.worker import ClusterWorker, Desired
from reconciler.errors import ReconcilerError
from reconciler.kube.cache import CachedClient
from reconciler.source import signatures
from reconciler.source.git import GitError
from reconciler.source.mirror import Mirror, remove_tree

log = logging.getLogger("reconciler.controller")

MIN_CHECK_GAP = 0.5  # webhook calls are coalesced: one check in flight, and at most two checks a second


class Controller:
    """The source loop and the cluster workers it feeds; the one object :mod:`reconciler.cli.run` builds and runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.remote = remote = settings.remote()
        self.status = Status(remote.shown, settings.branch, settings.path, settings.identity, settings.leader_elect)
        self.status.auth_grace = max(10.0, 2 * settings.max_backoff)
        self.stop = threading.Event()
        self.trigger = threading.Event()
        self.workers: dict[str, ClusterWorker] = {}
        self.desired: Desired | None = None
        self.seen: str | None = None  # the last commit validated, good or bad
        self._lock_file: IO[str] | None = None
        self.mirror = Mirror(remote, settings.workdir / "mirror.git")
        self.trees = settings.workdir / "trees"
        self.unreachable_now: set[str] = set()  # clusters that did not answer a check of the revision in hand
        self.trusted_keys: signatures.TrustedKeys | None = None  # set at start when commits must be signed
        self.guardrails = StartGuardrails(settings.guardrails, settings.kubeconfig, settings.cluster,
                                          settings.contexts)

    # -- leadership --------------------------------------------------------------------------------------------------

    def on_leadership(self, cluster: str, leading: bool, holder: str | None, error: str | None,
                      unauthorized_since: float | None = None) -> None:
        self.status.set_leader(leading, holder, cluster=cluster, error=error)
        # A standby does not converge, so only its Lease's client can tell that the credentials are refused.
        self.status.authentication(cluster, unauthorized_since)
        worker = self.workers.get(cluster)
        if leading and worker is not None:
            worker.resync_now()

    def may_write(self) -> bool:
        """Whether this replica writes anywhere: without leader election always, else while it leads a cluster."""
        if not self.settings.leader_elect:
            return True
        return any(worker.may_write() for worker in list(self.workers.values()))

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

    def _validate(self, commit: str) -> None:
        self.seen = commit
        self.unreachable_now.clear()
        with RevisionClients(self.settings.kubeconfig, self._worker_client) as clients:
            landscape = revisions.Review(self, commit, clients).accepted()
        if landscape is None:
            return
        log.info("new revision is valid; converging", extra={"revision": commit, "summary": landscape.summary()})
        self.status.revision_valid(commit)
        self.desired = Desired(commit, landscape)
        self._clean_trees(keep=commit)
        self._dispatch(self.desired)

    def _worker_client(self, cluster: Cluster) -> CachedClient | None:
        worker = self.workers.get(cluster.name)
        return worker.client.reusable(cluster) if worker is not None else None

    def _approved_since(self, commit: str) -> bool:
        """A commit held by the risk rules is judged again once the approvals file lists it."""
        held = self.status.held_revision
        if held is None or held.get("revision") != commit or held.get("cause") != "risk":
            return False
        try:
            return hold_base.approved(self.settings.approvals, commit)
        except ReconcilerError:
            return False

    def leads(self, cluster: str) -> bool:
        """Whether this replica writes to ``cluster`` (always without leader election)."""
        if not self.settings.leader_elect:
            return True
        worker = self.workers.get(cluster)
        return worker is not None and worker.may_write()

    def unreachable(self, cluster: str, error: str) -> None:
        """A cluster that did not answer a check of the new revision: failed on /status now, skipped by the checks
        that follow for this revision, converged (and retried) by its own worker."""
        self.unreachable_now.add(cluster)
        if self.leads(cluster):  # a standby shows why it does not lead, not what it could not read
            self.status.unreachable(cluster, error)

    def _dispatch(self, desired: Desired) -> None:
        names = self.settings.clusters_of(list(desired.landscape.clusters))
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
