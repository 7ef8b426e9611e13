"""The model of the risk rules: the rules and their default severities, a finding, what a change does to a target,
and the assessment the rules add their findings to (at the severity the Platforms set, see :func:`severity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from reconciler.config.model import Environment, Landscape, Platform, RiskLevel

QuotaUsage = dict[str, dict[str, str]]  # "cluster/namespace" -> ResourceQuota status.used

SEVERITIES: tuple[RiskLevel, ...] = get_args(RiskLevel)
DEFAULT_SEVERITY: dict[str, RiskLevel] = {
    "protected-changed": "warn",
    "protected-removed": "block",
    "environment-removed": "warn",
    "namespace-removed": "warn",
    "agent-removed": "warn",
    "agent-image-changed": "warn",
    "quota-lowered": "warn",
    "quota-below-usage": "block",
    "access-widened": "warn",
    "access-granted-in-prod": "warn",
    "role-not-allowed": "block",
    "allowed-roles-changed": "block",
    "mass-deletion": "block",
    "outside-change-window": "block",
    "risk-policy-changed": "block",
    "take-over-added": "block",
    "unknown-risk-rule": "warn",
}
# Refused whatever the Platform says: the design's own safety rules.
ALWAYS_BLOCK = frozenset({"protected-removed", "role-not-allowed"})
RULES = tuple(DEFAULT_SEVERITY)
PROD_NAMES = frozenset({"prod", "production"})
ROLE_RANK = {"view": 1, "edit": 2, "admin": 3}
_MAX_ITEMS = 5


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: RiskLevel
    environment: str  # "" for the whole platform
    target: str  # "cluster/namespace", or "" for the whole environment
    reason: str

    @property
    def blocks(self) -> bool:
        return self.severity == "block"

    @property
    def rank(self) -> int:
        return SEVERITIES.index(self.severity)


@dataclass(frozen=True)
class TargetChange:
    """What a change does to the rendered objects of one target (``cluster/namespace``)."""

    environment: str
    target: str
    objects_before: int
    added: int
    changed: int
    removed: int
    gone: bool  # the target is no longer in the head revision

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def severity(rule: str, environment: str, *platforms: Platform) -> RiskLevel:
    """The strictest level the platforms set for ``rule`` in ``environment`` (per environment, then global)."""
    if rule in ALWAYS_BLOCK:
        return "block"
    levels = []
    for platform in platforms:
        per_environment = platform.risk_by_environment.get(environment, {})
        levels.append(per_environment.get(rule) or platform.risk_rules.get(rule) or DEFAULT_SEVERITY[rule])
    return max(levels, key=SEVERITIES.index)


def listing(items: list[str]) -> str:
    shown = items[:_MAX_ITEMS]
    more = f"; and {len(items) - _MAX_ITEMS} more" if len(items) > _MAX_ITEMS else ""
    return "; ".join(shown) + more


def targets(environment: Environment) -> str:
    return ", ".join(f"{cluster}/{namespace}" for cluster, namespace in environment.targets)


class Assessment:
    def __init__(self, base: Landscape, head: Landscape) -> None:
        self.base = base
        self.head = head
        self.findings: list[Finding] = []

    def add(self, rule: str, environment: str, reason: str, target: str = "") -> None:
        level = severity(rule, environment, self.base.platform, self.head.platform)
        self.findings.append(Finding(rule, level, environment, target, reason))

