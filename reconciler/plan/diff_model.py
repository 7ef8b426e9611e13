"""The result of ``reconciler diff``: each environment's and target's object changes, with the risk findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.plan.compare import FieldDiff
from reconciler.plan.inventory import ObjectRef
from reconciler.policy import access
from reconciler.policy.findings import Finding
from reconciler.source import revision as source

ObjectAction = Literal["added", "changed", "removed"]
Status = Literal["added", "changed", "removed", "unchanged"]
EXIT_OK = 0
EXIT_BLOCKED = 3
# Prefixes left out of field paths in one-line summaries: "ResourceQuota requests.cpu 8 -> 4".
_SHORT_PREFIXES = ("spec.hard.", "spec.template.spec.", "spec.", "data.")
_MAX_DETAILS = 3


@dataclass(frozen=True)
class ObjectChange:
    action: ObjectAction
    ref: ObjectRef
    fields: tuple[FieldDiff, ...] = ()

    def describe(self) -> str:
        """One line: ``ResourceQuota requests.nvidia.com/gpu 16 -> 8`` or ``+RoleBinding access-team-x-edit``."""
        if self.action != "changed":
            return f"{'+' if self.action == 'added' else '-'}{self.ref.kind} {self.ref.name}"
        shown = ", ".join(short_field(diff) for diff in self.fields[:2])
        more = f", +{len(self.fields) - 2} more" if len(self.fields) > 2 else ""
        return f"{self.ref.kind} {shown}{more}"


def short_field(diff: FieldDiff) -> str:
    path = diff.path
    for prefix in _SHORT_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    text = str(diff)
    return f"{path} {text[len(diff.path) + 2:]}"


@dataclass
class TargetDiff:
    cluster: str
    namespace: str
    environment: str
    status: Status
    objects_before: int
    objects_after: int
    changes: list[ObjectChange] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.namespace}"

    def count(self, action: ObjectAction) -> int:
        return sum(1 for change in self.changes if change.action == action)


@dataclass
class EnvironmentDiff:
    name: str
    status: Status
    protected: bool
    targets: list[TargetDiff] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def count(self, action: ObjectAction) -> int:
        return sum(target.count(action) for target in self.targets)

    @property
    def worst(self) -> int:
        return max((finding.rank for finding in self.findings), default=-1)

    def summary(self) -> str:
        """``prod: 1 changed (ResourceQuota requests.nvidia.com/gpu 16 -> 8)``."""
        counts = [f"{n} {action}" for action in ("added", "changed", "removed") if (n := self.count(action))]
        touched = [t for t in self.targets if t.changes]
        where = f" in {len(touched)} targets" if len(touched) > 1 else ""
        if self.status in ("added", "removed"):
            counts.insert(0, f"environment {self.status}")
        ordered = sorted((c for t in self.targets for c in t.changes), key=lambda c: c.action != "changed")
        details = list(dict.fromkeys(change.describe() for change in ordered))
        shown = "; ".join(details[:_MAX_DETAILS]) + (f"; +{len(details) - _MAX_DETAILS} more"
                                                     if len(details) > _MAX_DETAILS else "")
        text = ", ".join(counts) or "no object changes"
        return f"{self.name}: {text}{where}" + (f" ({shown})" if shown else "")


@dataclass
class DiffResult:
    base: source.Revision
    head: source.Revision
    environments: list[EnvironmentDiff]  # changed ones, and unchanged ones that have findings
    unchanged: int  # environments the change does not touch
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)
    live_usage: bool = False
    access_changes: list[access.AccessChange] = field(default_factory=list)  # who gains or loses which role

    @property
    def blocked(self) -> bool:
        return any(finding.blocks for finding in self.findings)

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.blocked else EXIT_OK

    @property
    def platform_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.environment]
