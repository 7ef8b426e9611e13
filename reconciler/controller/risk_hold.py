"""The controller applies the same policy as the pull request: before it converges a new commit, the risk rules
judge the change from the last revision it accepted, with live quota usage, and a blocking finding holds the commit
until a later one resolves it. Change windows are not judged here: converge holds per target while a window is
closed and applies the changes once it opens, as ``apply`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from reconciler.config.model import Cluster, Landscape
from reconciler.controller import revision_events
from reconciler.errors import ReconcilerError
from reconciler.kube import kueue_live
from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError
from reconciler.plan import diff, revisions
from reconciler.policy.findings import Finding, QuotaUsage

log = logging.getLogger("reconciler.controller")
# Refused by converge itself, target by target (state `refused`, the rest of the revision applies): holding the
# whole revision for them would also hold every other environment's changes.
REFUSED_PER_TARGET = frozenset({"protected-removed"})
Connect = Callable[[Cluster], ClusterClient]


@dataclass(frozen=True)
class Hold:
    revision: str
    findings: tuple[Finding, ...]

    def reasons(self) -> list[str]:
        return [f"{f.rule} ({f.environment or 'platform'}{', ' + f.target if f.target else ''}): {f.reason}"
                for f in self.findings]

    def message(self) -> str:
        return (f"revision {self.revision[:12]} is held: {len(self.findings)} risk finding(s) block it, as they "
                f"would block its pull request ({'; '.join(self.reasons())}). Nothing of it is applied; the last "
                "accepted revision stays applied until a later commit resolves the findings")


def live_usage(base: Landscape, head: Landscape, clusters: list[str], connect: Connect,
               unreachable: Callable[[str, str], None] | None = None) -> QuotaUsage:
    """What the targets whose quota changes use now, read from their clusters in parallel; a cluster that cannot be
    read is left out, logged and told to ``unreachable`` (so a hanging one shows as failed at once). The clients
    ``connect`` gives stay the caller's, who closes them."""
    names = sorted({t.cluster.name for t in revisions.changed_quota_targets(base, head)} & set(clusters))

    def read(name: str) -> QuotaUsage:
        found: QuotaUsage = {}
        try:
            client = connect(head.clusters[name])
        except ReconcilerError as error:
            _unread(name, error, unreachable)
            return found
        try:
            found.update(revisions.usage_from_quotas(name, client.list("ResourceQuota", revisions.QUOTA_SELECTOR)))
            kueue_live.add_usage(found, name, head, client)
        except KubeError as error:
            _unread(name, error, unreachable)
        return found

    usage: QuotaUsage = {}
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        for found in pool.map(read, names):
            usage.update(found)
    return usage


def _unread(name: str, error: Exception, unreachable: Callable[[str, str], None] | None) -> None:
    log.warning("cannot read live quota usage", extra={"cluster": name, "error": str(error)})
    if unreachable is not None:
        unreachable(name, str(error))


def judge(revision: str, base: Landscape, head: Landscape, usage: QuotaUsage) -> Hold | None:
    """The hold of ``revision`` when a risk rule blocks the change from ``base``, else None."""
    _, findings = diff.assess_change(base, head, usage)
    blocking = tuple(f for f in findings if f.blocks and f.rule not in REFUSED_PER_TARGET)
    return Hold(revision, blocking) if blocking else None


def announce(hold: Hold, head: Landscape, clusters: list[str], connect: Connect, instance: str) -> None:
    """A Warning Event in each namespace of the environments the hold is about (best effort)."""
    environments = {f.environment for f in hold.findings}
    for name in clusters:
        namespaces = [t.namespace for t in head.targets if t.cluster.name == name
                      and t.environment.name in environments]
        if not namespaces or name not in head.clusters:
            continue
        try:
            client = connect(head.clusters[name])
        except ReconcilerError:
            continue  # told on /status by that cluster's worker
        revision_events.warn(client, namespaces, revision_events.HELD_REASON, hold.message(), instance)
