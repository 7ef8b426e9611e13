"""A new commit is judged before any cluster sees it: signed by a listed key (when required), valid, not held by the
risk rules, not refused by an API server's dry run. A commit that fails a check changes nothing: the last good
revision stays applied, and why is shown on /status, in the log and as a Warning Event. The checks of one commit
share one set of clients (:class:`reconciler.controller.clients.RevisionClients`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from reconciler.config import contexts
from reconciler.config.model import Landscape, Target
from reconciler.controller import hold_base, revision_events, risk_hold
from reconciler.controller.clients import RevisionClients
from reconciler.controller.worker import Desired
from reconciler.converge import engine as converge
from reconciler.errors import InvalidRepository, ReconcilerError
from reconciler.kube.client import ClusterClient
from reconciler.kube.fence import Fenced
from reconciler.plan import incremental
from reconciler.plan import revisions as plan_revisions
from reconciler.source import signatures
from reconciler.source.mirror import remove_tree

if TYPE_CHECKING:
    from reconciler.controller.loop import Controller

log = logging.getLogger("reconciler.controller")


class Review:
    """The checks of one commit, in the order a bad commit is cheapest to find."""

    def __init__(self, controller: Controller, commit: str, clients: RevisionClients) -> None:
        self.controller = controller
        self.settings = controller.settings
        self.status = controller.status
        self.commit = commit
        self.clients = clients

    @property
    def applied(self) -> str | None:
        return self.controller.desired.revision if self.controller.desired else None

    def accepted(self) -> Landscape | None:
        """The commit's landscape when every check passes, else None (the commit was told held or invalid)."""
        if self._held_unsigned():
            return None
        landscape = self._load()
        if landscape is None or self._held_by_policy(landscape) or self._refused_by_api_servers(landscape):
            return None
        return landscape

    def _load(self) -> Landscape | None:
        tree = self.controller.trees / self.commit
        try:
            if not tree.exists():
                self.controller.mirror.checkout(self.commit, tree)
            landscape = self.controller.guardrails.load(tree / self.settings.path)
            contexts.selected_clusters(landscape.clusters, self.settings.cluster)
        except InvalidRepository as invalid:
            prefix = f"{self.settings.path.strip('/')}/" if self.settings.path.strip("/") else ""
            self.reject([prefix + str(error) for error in invalid.errors])
            return None
        except ReconcilerError as error:
            self.reject([str(error)])
            return None
        return landscape

    def _held_unsigned(self) -> bool:
        """With --verify-signatures/--verify-gpg-keys: hold a commit git does not verify against a listed key (the
        last good revision stays applied). Called once per commit, so the hold is logged once."""
        keys = self.controller.trusted_keys
        if keys is None:
            return False
        try:
            verdict = signatures.verify_new(self.controller.mirror.directory, self.commit, self.applied, keys)
        except ReconcilerError as error:
            verdict = signatures.Verdict(self.commit, "", "", "", "not-verified")
            log.error("cannot verify the commit's signature", extra={"revision": self.commit, "error": str(error)})
        if verdict.accepted:
            self.status.signature_verified(verdict)
            log.info("commit signature verified", extra={"revision": self.commit, "signer": verdict.signer,
                                                         "key": verdict.key})
            return False
        self.status.signature_held(verdict)
        log.warning("commit is not signed by a listed key: held, nothing from it is applied", extra={
            "revision": self.commit, "reason": verdict.reason, "key": verdict.key or None,
            "signer": verdict.signer or None, "keptRevision": self.applied, "detail": verdict.describe()})
        self._announce(None, revision_events.HELD_REASON,
                       revision_events.held_message(self.commit, self.applied, verdict.describe()))
        return True

    def _held_by_policy(self, landscape: Landscape) -> bool:
        """Judge the change from the revision the clusters run with the risk rules; hold it when one blocks."""
        clusters = self.settings.clusters_of(list(landscape.clusters))
        base = self.controller.desired or self._applied_base(landscape, clusters)
        if base is None:
            return False  # nothing applied yet (or its revision is unknown): no base to judge the change against
        quotas = frozenset(t.namespace for t in plan_revisions.changed_quota_targets(base.landscape, landscape))
        usage = risk_hold.live_usage(base.landscape, landscape, clusters,
                                     lambda cluster: self.clients.reader(cluster, quotas), self.controller.unreachable)
        hold = risk_hold.judge(self.commit, base.landscape, landscape, usage)
        if hold is None or self._approved(hold):
            return False
        log.error("revision is held by the risk rules: nothing from it is applied", extra={
            "revision": self.commit, "keptRevision": base.revision, "findings": hold.reasons()})
        risk_hold.announce(hold, landscape, clusters, self.clients.of, self.settings.identity)
        self._announce(landscape, revision_events.HELD_REASON,
                       revision_events.held_message(self.commit, self.applied, hold.message()))
        self.status.revision_held(self.commit, hold.reasons())  # after the Events: a hold told everywhere
        remove_tree(self.controller.trees / self.commit)
        return True

    def _approved(self, hold: risk_hold.Hold) -> bool:
        try:
            approved = hold_base.approved(self.settings.approvals, self.commit)
        except ReconcilerError as error:
            log.error("cannot read the approvals file; the revision stays held", extra={"error": str(error)})
            return False
        if approved:
            log.warning("revision has blocking risk findings but is approved in the approvals file: applied",
                        extra={"revision": self.commit, "findings": hold.reasons(),
                               "approvals": str(self.settings.approvals)})
        return approved

    def _applied_base(self, landscape: Landscape, clusters: list[str]) -> Desired | None:
        """After a restart: the revision the targets' inventories record, as the base of the risk rules."""
        revision = hold_base.applied_revision(self._reachable(landscape, clusters).values(), landscape.platform.name)
        if revision is None or revision == self.commit:
            return None
        if not self.controller.mirror.has(revision):
            log.warning("the revision the clusters run is not in the mirror's history: this commit is not judged "
                        "by the risk rules", extra={"revision": self.commit, "applied": revision})
            return None
        tree = self.controller.trees / revision
        try:
            if not tree.exists():
                self.controller.mirror.checkout(revision, tree)
            return Desired(revision, self.controller.guardrails.load(tree / self.settings.path))
        except (InvalidRepository, ReconcilerError) as error:
            log.warning("the revision the clusters run cannot be read: this commit is not judged by the risk rules",
                        extra={"revision": self.commit, "applied": revision, "error": str(error)})
            return None

    def _reachable(self, landscape: Landscape, clusters: list[str]) -> dict[str, ClusterClient]:
        """The clients of ``clusters`` that could be built; a cluster that cannot is reported by its worker."""
        found = {}
        for name in clusters:
            try:
                found[name] = self.clients.of(landscape.clusters[name])
            except ReconcilerError:
                continue
        return found

    def _refused_by_api_servers(self, landscape: Landscape) -> bool:
        """Each worker dry-runs its own cluster, but a hub converges clusters independently: a revision that one
        API server refuses is rejected here first, so no cluster writes any of it (and, like an invalid one, it is
        not retried: it waits for the next commit)."""
        if not self.controller.may_write():
            return False  # a standby writes nothing; the workers' own dry run guards it once it leads
        # skipped: a cluster that just failed to answer for this revision, and one another replica leads
        names = [name for name in self.settings.clusters_of(list(landscape.clusters))
                 if name not in self.controller.unreachable_now and self.controller.leads(name)]
        chosen: list[Target] = []
        clients: dict[str, ClusterClient] = {}
        for name in names:
            targets = self._to_dry_run(landscape, name)
            try:
                clients[name] = self.clients.reader(landscape.clusters[name], frozenset(t.namespace for t in targets)
                                                    if len(targets) < len(landscape.select(cluster=name)) else None)
            except ReconcilerError as error:
                self.controller.unreachable(name, str(error))  # converged (and retried) by its worker
                continue
            chosen.extend(targets)
        try:
            refused = converge.refused_by_api_servers(landscape, clients, tuple(chosen), self.controller.unreachable)
        except Fenced as fenced:
            log.info("the revision's dry run stopped: this replica may not write now; the workers' own dry run "
                     "guards their clusters", extra={"revision": self.commit, "reason": str(fenced)})
            return False
        if refused:
            self.reject([str(failure) for failure in refused])
        return bool(refused)

    def _to_dry_run(self, landscape: Landscape, cluster: str) -> tuple[Target, ...]:
        """The targets of ``cluster`` the dry run sends: all of them, unless the cluster's worker converged a
        landscape with nothing changed on the cluster since; then those the commit changes and those that did not
        end converged (:mod:`reconciler.controller.reuse`)."""
        targets = landscape.select(cluster=cluster)
        worker = self.controller.workers.get(cluster)
        base, converged = worker.reuse.base() if worker is not None else (None, frozenset())
        if base is None:
            return targets
        changed = {t.key for t in incremental.changed_targets(base, landscape, targets)}
        return tuple(t for t in targets if t.key in changed or t.namespace not in converged)

    def reject(self, errors: list[str]) -> None:
        self.status.revision_invalid(self.commit, errors)
        log.error("revision is invalid: nothing from it is applied", extra={
            "revision": self.commit, "keptRevision": self.applied, "errors": errors})
        self._announce(None, revision_events.INVALID_REASON,
                       revision_events.invalid_message(self.commit, self.applied, errors))
        remove_tree(self.controller.trees / self.commit)

    def _announce(self, landscape: Landscape | None, reason: str, message: str) -> None:
        """A Warning Event in the controller's namespace, on the cluster it runs on."""
        known = landscape or (self.controller.desired.landscape if self.controller.desired else None)
        try:
            home = revision_events.home_cluster(known, self.settings.cluster)
        except ReconcilerError as error:
            log.info("no Event for the revision", extra={"revision": self.commit, "reason": str(error)})
            return
        try:
            client = self.clients.of(home)
        except ReconcilerError as error:
            log.warning("cannot record the revision's Event", extra={"cluster": home.name, "reason": reason,
                                                                     "error": str(error)})
            return
        revision_events.warn(client, [self.settings.lease_namespace], reason, message, self.settings.identity)
