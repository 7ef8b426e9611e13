"""Risk rules on a change between two resolved landscapes (a pull request's base and head), plus live usage.

Pure: the inputs are the two models, what the change does to each target's rendered objects (counted by
:mod:`reconciler.diff`), the live quota usage when it was read, and the time. Each rule yields findings with a
severity: ``info`` and ``warn`` are shown to reviewers, ``block`` stops the change. The Platform may set a rule's
severity globally (``risk.rules``) and per environment (``risk.environments.<env>``). A change is judged by the
stricter of its base's and its head's settings, so a pull request cannot relax the rules that judge it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from reconciler import kueue_usage, windows
from reconciler.config.model import Access, Environment, Landscape, Platform, RiskLevel, Team
from reconciler.quantity import parse_quantity

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


def _listing(items: list[str]) -> str:
    shown = items[:_MAX_ITEMS]
    more = f"; and {len(items) - _MAX_ITEMS} more" if len(items) > _MAX_ITEMS else ""
    return "; ".join(shown) + more


def _targets(environment: Environment) -> str:
    return ", ".join(f"{cluster}/{namespace}" for cluster, namespace in environment.targets)


class _Assessment:
    def __init__(self, base: Landscape, head: Landscape) -> None:
        self.base = base
        self.head = head
        self.findings: list[Finding] = []

    def add(self, rule: str, environment: str, reason: str, target: str = "") -> None:
        level = severity(rule, environment, self.base.platform, self.head.platform)
        self.findings.append(Finding(rule, level, environment, target, reason))


# -- environments, targets, agents ---------------------------------------------------------------------------------

def _removed(check: _Assessment, name: str, before: Environment) -> None:
    if before.protected:
        check.add("protected-removed", name, (
            f"{name} is protected and this change removes it: refused, also when the same change drops the flag. "
            f"To remove it, first merge a change that sets `protected: false` on {name}, apply it, then remove the "
            "environment"))
        return
    fate = ("DELETED with everything in them (onRemove: delete)" if before.on_remove == "delete"
            else "left in place but no longer managed (onRemove: orphan)")
    check.add("environment-removed", name, (
        f"{name} is removed: its namespaces ({_targets(before)}) are {fate}. Check that nobody still runs work "
        "there"))


def _kept(check: _Assessment, name: str, before: Environment, after: Environment, touched: bool) -> None:
    if before.protected and not after.protected:
        check.add("protected-changed", name, (
            f"{name} is no longer protected: after this merge it can be removed by any commit. Make sure an owner "
            f"of {name} agrees"))
    elif touched and (before.protected or after.protected):
        check.add("protected-changed", name, (
            f"{name} is protected and this change alters it ({_targets(after)}): ask an owner of {name} to review"))
    for cluster, namespace in sorted(set(before.targets) - set(after.targets)):
        fate = ("DELETED with everything in it (onRemove: delete)" if before.on_remove == "delete"
                else "left in place but no longer managed (onRemove: orphan)")
        check.add("namespace-removed", name, (
            f"{name} no longer runs on {cluster}/{namespace}: the namespace is {fate}. Move running work first"),
            target=f"{cluster}/{namespace}")
    if before.agent is not None and after.agent is None:
        check.add("agent-removed", name, (
            f"the ML agent of {name} is removed: queued and running jobs of {name} stop being scheduled. "
            "Drain its queues first"))
    if before.agent is not None and after.agent is not None and before.agent.image != after.agent.image:
        check.add("agent-image-changed", name, (
            f"the agent image of {name} changes from {before.agent.image} to {after.agent.image}: the agent "
            "restarts on apply. Check that this version works with the control plane"))


# -- quotas -------------------------------------------------------------------------------------------------------

def _lower(before: str, after: str) -> bool:
    try:
        return parse_quantity(after) < parse_quantity(before)
    except ValueError:
        return False


def _quota_lowered(check: _Assessment, name: str, before: Environment, after: Environment, live: bool) -> None:
    lowered = [f"{resource} {before.quota[resource]} -> {value}" for resource, value in sorted(after.quota.items())
               if resource in before.quota and _lower(before.quota[resource], value)]
    if lowered:
        hint = "" if live else ". Compare with current usage (run with --kubeconfig)"
        check.add("quota-lowered", name, (
            f"quota of {name} lowered: {_listing(lowered)}. Running pods keep their resources; new pods beyond the "
            f"quota are refused{hint}"))


def _quota_below_usage(check: _Assessment, name: str, before: Environment | None, after: Environment,
                       usage: QuotaUsage) -> None:
    changed = {r: v for r, v in after.quota.items() if before is None or before.quota.get(r) != v}
    if not changed and (before is not None and before.kueue == after.kueue):
        return
    for cluster, namespace in after.targets:
        key = f"{cluster}/{namespace}"
        used = usage.get(key, {})
        below = [f"{resource} {limit} < {used[resource]} in use" for resource, limit in sorted(changed.items())
                 if resource in used and _lower(used[resource], limit)]
        if below:
            check.add("quota-below-usage", name, (
                f"quota of {name} on {key} would be below what runs there now: {_listing(below)}. New pods are "
                "refused until usage drops; lower usage first or choose a higher quota"), target=key)
        queued = kueue_usage.below_usage(before, after, used)
        if queued:
            check.add("quota-below-usage", name, (
                f"Kueue quota of {name} on {key} would be below what its ClusterQueue has admitted: "
                f"{_listing(queued)}. Kueue evicts nothing; it admits no new workload until usage drops. Let "
                "workloads finish first or choose a higher nominal quota"), target=key)


# -- access -------------------------------------------------------------------------------------------------------

def _principals(entry: Access, teams: dict[str, Team]) -> Iterator[str]:
    if entry.subject == "user":
        yield f"user {entry.name}"
        return
    team = teams.get(entry.name)
    if team is None:
        return
    yield from (f"group {group}" for group in team.groups)
    yield from (f"user {user}" for user in team.users)
    yield from (f"service account {sa.namespace}/{sa.name}" for sa in team.service_accounts)


def _grants(environment: Environment | None, teams: dict[str, Team]) -> dict[str, dict[str, str]]:
    """principal -> {role: "team x" or "user y"} for every binding of the environment."""
    result: dict[str, dict[str, str]] = {}
    for entry in environment.access if environment else ():
        for principal in _principals(entry, teams):
            result.setdefault(principal, {}).setdefault(entry.role, f"{entry.subject} {entry.name}")
    return result


def _covered(role: str, held: set[str]) -> bool:
    rank = ROLE_RANK.get(role)
    return role in held or (rank is not None and any(ROLE_RANK.get(h, 0) >= rank for h in held))


def _widened(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """``team vision gets edit (was view): group oidc:ml-vision, user bob@example.com``, one item per grant."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for principal, roles in sorted(after.items()):
        held = set(before.get(principal, {}))
        for role, via in sorted(roles.items()):
            if not _covered(role, held):
                was = f"was {'/'.join(sorted(held))}" if held else "new"
                grouped.setdefault((via, role, was), []).append(principal)
    return [f"{via} gets {role} ({was}): {', '.join(principals)}"
            for (via, role, was), principals in sorted(grouped.items())]


def _access(check: _Assessment, name: str, before: Environment | None, after: Environment) -> None:
    allowed = check.head.platform.allowed_cluster_roles
    for entry in after.access:
        if entry.role not in allowed:
            check.add("role-not-allowed", name, (
                f"{name} binds {entry.subject} {entry.name} to ClusterRole {entry.role}, which the Platform does "
                f"not allow ({', '.join(allowed)}): refused. Use an allowed role"))
    widened = _widened(_grants(before, check.base.teams), _grants(after, check.head.teams))
    if not widened:
        return
    opening = f"new environment {name} grants access:" if before is None else f"{name} grants more access:"
    check.add("access-widened", name, (
        f"{opening} {_listing(widened)}. Check that each of them should have this role in {name}"))
    if name in PROD_NAMES or after.protected:
        kind = "production" if name in PROD_NAMES else "protected"
        check.add("access-granted-in-prod", name, (
            f"{name} is a {kind} environment and this change grants new or higher roles there (see access-widened): "
            f"production access needs the approval of the owners of {name}"))


# -- deletion, windows, the platform itself -----------------------------------------------------------------------

def _mass_deletion(check: _Assessment, change: TargetChange) -> None:
    if change.gone:
        # A removed environment deletes nothing (onRemove: orphan) or asked for its own deletion (onRemove: delete,
        # the explicit allowance of the mass-deletion guard); environment-removed shows which.
        return
    deleting = change.removed
    limit = min(check.base.platform.mass_delete_percent, check.head.platform.mass_delete_percent)
    if not change.objects_before or not deleting:
        return
    share = 100 * deleting / change.objects_before
    if share > limit:
        check.add("mass-deletion", change.environment, (
            f"deletes {deleting} of the {change.objects_before} objects of {change.target} ({share:.0f}%, over the "
            f"Platform's massDeletePercent of {limit}%): apply refuses it unless run with --allow-mass-delete. "
            "Split the change or confirm it is intended"), target=change.target)


def _window(check: _Assessment, name: str, now: datetime) -> None:
    for platform in (check.head.platform, check.base.platform):
        status = windows.window_status(platform, name, now)
        if not status.open:
            when = (f"; the next window opens {status.next_open:%a %Y-%m-%d %H:%M} UTC" if status.next_open
                    else "; no window opens in the next year")
            check.add("outside-change-window", name, (
                f"it is {now:%a %Y-%m-%d %H:%M} UTC, {status.reason}{when}. Merge and apply then, or change the "
                "Platform's changeWindows"))
            return


def _take_over(check: _Assessment, name: str, before: Environment | None, after: Environment) -> None:
    """A takeOver moves another environment's (or Platform's) objects to this one: a deliberate step that the
    owners of both must agree to, so a new one blocks by default, also when the environment itself is new."""
    added = sorted(set(after.take_over) - set(before.take_over if before else ()), key=str)
    if added:
        check.add("take-over-added", name, (
            f"{name} takes over the objects of {', '.join(map(str, added))} (takeOver): their labels and "
            "inventory change owner on apply. Ask the owners of both to review, and remove takeOver after the move"))


def _platform(check: _Assessment) -> None:
    before, after = check.base.platform, check.head.platform
    if set(before.allowed_cluster_roles) != set(after.allowed_cluster_roles):
        added = sorted(set(after.allowed_cluster_roles) - set(before.allowed_cluster_roles))
        dropped = sorted(set(before.allowed_cluster_roles) - set(after.allowed_cluster_roles))
        parts = ([f"allows {', '.join(added)}"] if added else []) + ([f"no longer allows {', '.join(dropped)}"]
                                                                   if dropped else [])
        check.add("allowed-roles-changed", "", (
            f"the Platform's allowedClusterRoles changes: it {' and '.join(parts)}. Every later commit may bind "
            "teams to the allowed roles in any environment; ask the platform owners to review"))
    changed = [label for label, old, new in (
        ("risk", (before.risk_rules, before.risk_by_environment), (after.risk_rules, after.risk_by_environment)),
        ("changeWindows", before.change_windows, after.change_windows),
        ("massDeletePercent", before.mass_delete_percent, after.mass_delete_percent),
    ) if old != new]
    if changed:
        check.add("risk-policy-changed", "", (
            f"the Platform's {', '.join(changed)} change. They take effect after merge: this change is judged by the "
            "stricter of the old and new settings. Ask the platform owners to review"))
    for where, rules in [("risk.rules", after.risk_rules),
                         *((f"risk.environments.{env}", r) for env, r in sorted(after.risk_by_environment.items()))]:
        for rule in sorted(set(rules) - set(RULES)):
            check.add("unknown-risk-rule", "", (
                f"Platform {where} names {rule!r}, which is not a rule, so it changes nothing. Known rules: "
                f"{', '.join(RULES)}"))


def assess(base: Landscape, head: Landscape, changes: list[TargetChange], usage: QuotaUsage | None = None,
           now: datetime | None = None) -> list[Finding]:
    """Every finding of the change from ``base`` to ``head``, most severe first."""
    check = _Assessment(base, head)
    touched = {c.environment for c in changes if c.touched}
    _platform(check)
    for name in sorted(base.environments.keys() | head.environments.keys()):
        before, after = base.environments.get(name), head.environments.get(name)
        if after is None:
            assert before is not None
            _removed(check, name, before)
        else:
            if before is not None:
                _kept(check, name, before, after, name in touched)
                _quota_lowered(check, name, before, after, usage is not None)
            _access(check, name, before, after)
            _take_over(check, name, before, after)
            if usage is not None:
                _quota_below_usage(check, name, before, after, usage)
        if now is not None and (name in touched or (before is None) != (after is None)):
            _window(check, name, now)
    for change in changes:
        _mass_deletion(check, change)
    return sorted(check.findings, key=lambda f: (-f.rank, f.environment, f.target, f.rule))
