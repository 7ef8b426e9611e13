"""What a converge did, as typed entries: one per object and action, in the spirit of Flux's change set.

Every decision after a converge (a target's state, its Events, the exit code) reads these entries. The string
views (``applied``, ``errors``, ...) are derived from them for printing and counting only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.converge.agent_health import AgentHealth
from reconciler.kube.errors import KubeError
from reconciler.plan import quota
from reconciler.plan.changes import Action, Change, TargetPlan
from reconciler.plan.cluster import ClusterPlan
from reconciler.plan.inventory import ObjectRef

# create/update/delete/orphan: a target's object; apply: a Platform's cluster-scoped object; the others are steps
# that can fail around the objects (connect, read and plan, dry-run, drain a queue, converge a target as a whole).
EntryAction = Literal["create", "update", "delete", "orphan", "apply", "connect", "read", "dry-run", "drain",
                      "converge"]
Outcome = Literal["done", "failed"]
WRITTEN: tuple[EntryAction, ...] = ("create", "update", "apply")
# The planned actions a converge carries out; the others (unchanged, conflict, keep) send nothing.
OF_CHANGE: dict[Action, EntryAction] = {"create": "create", "update": "update", "delete": "delete", "orphan": "orphan",
                                        "unchanged": "converge", "conflict": "converge", "keep": "converge"}


@dataclass(frozen=True)
class Entry:
    action: EntryAction
    outcome: Outcome
    ref: ObjectRef | None = None  # None: a step of the cluster or target as a whole
    target: str = ""  # the namespace of the target it belongs to; "" for the cluster or the Platform
    error: KubeError | None = None  # the API server's answer, with its cluster and subject
    message: str = ""  # a failure as a person reads it: what, where and what to do

    def __str__(self) -> str:
        return self.message or f"{self.action} {self.ref}"


def failure(action: EntryAction, message: str, ref: ObjectRef | None = None, target: str = "",
            error: KubeError | None = None) -> Entry:
    return Entry(action, "failed", ref, target, error, message)


@dataclass
class ClusterResult:
    """One cluster's plan as executed: the plan's targets as they were planned, and the entries of what was done."""

    cluster: str
    targets: tuple[TargetPlan, ...] = ()
    shared: tuple[Change, ...] = ()  # the Platform's cluster-scoped Kueue objects
    quotas: Mapping[str, quota.Usage] = field(default_factory=dict)  # per namespace, as read before converging
    entries: list[Entry] = field(default_factory=list)
    health: list[AgentHealth] = field(default_factory=list)
    writes: int = 0
    dry_run_checked: tuple[int, int] = (0, 0)  # objects the server dry-ran, of those to write
    reads: int = 0
    waited: bool = False  # --wait: agents that are not ready in time make the result fail

    @classmethod
    def of(cls, plan: ClusterPlan) -> ClusterResult:
        return cls(plan.cluster, plan.targets, plan.shared, plan.quotas)

    @classmethod
    def unusable(cls, cluster: str, message: str) -> ClusterResult:
        """A cluster that could not be connected to: nothing is known of its changes."""
        return cls(cluster, entries=[failure("connect", message)])

    @property
    def failures(self) -> list[Entry]:
        return [e for e in self.entries if e.outcome == "failed"]

    def failures_of(self, namespace: str) -> list[Entry]:
        """The failures of one target; ``""``: those of the cluster as a whole (they concern every target)."""
        return [e for e in self.failures if e.target == namespace]

    @property
    def cluster_failures(self) -> list[Entry]:
        """The failures of the cluster as a whole (reading it, its dry run, the Platform's objects): every target
        of the cluster is concerned."""
        targets = {t.namespace for t in self.targets}
        return [e for e in self.failures if e.target not in targets]

    def done(self, *actions: EntryAction) -> list[Entry]:
        return [e for e in self.entries if e.outcome == "done" and e.action in actions]

    @property
    def applied(self) -> list[str]:
        return [str(e) for e in self.done(*WRITTEN)]

    @property
    def deleted(self) -> list[str]:
        return [str(e.ref) for e in self.done("delete")]

    @property
    def orphaned(self) -> list[str]:
        return [str(e.ref) for e in self.done("orphan")]

    @property
    def errors(self) -> list[str]:
        return [str(e) for e in self.failures]

    @property
    def failed(self) -> bool:
        """Errors, refusals or conflicts: something a person has to look at."""
        return (bool(self.failures) or any(t.refusals or t.by_action("conflict") for t in self.targets)
                or any(c.action == "conflict" for c in self.shared))

    @property
    def ok(self) -> bool:
        """Converged: nothing failed, nothing held by a change window, agents ready when waited for."""
        if self.waited and any(h.state != "ready" for h in self.health):
            return False
        return not self.failed and not any(t.held for t in self.targets)


def summary(results: list[ClusterResult]) -> dict[str, Any]:
    return {
        "applied": sum(len(r.done(*WRITTEN)) for r in results),
        "deleted": sum(len(r.done("delete")) for r in results),
        "orphaned": sum(len(r.done("orphan")) for r in results),
        "errors": sum(len(r.failures) for r in results),
        "writes": sum(r.writes for r in results),
    }
