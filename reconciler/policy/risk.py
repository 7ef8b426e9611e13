"""Risk rules on a change between two resolved landscapes (a pull request's base and head), plus live usage.

Pure: the inputs are the two models, what the change does to each target's rendered objects (counted by
:mod:`reconciler.plan.diff`), the live quota usage when it was read, and the time. Each rule yields findings with a
severity: ``info`` and ``warn`` are shown to reviewers, ``block`` stops the change. The Platform may set a rule's
severity globally (``risk.rules``) and per environment (``risk.environments.<env>``). A change is judged by the
stricter of its base's and its head's settings, so a pull request cannot relax the rules that judge it.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.config.model import Environment, Landscape
from reconciler.policy import windows
from reconciler.policy.access_rules import access
from reconciler.policy.findings import RULES, Assessment, Finding, QuotaUsage, TargetChange
from reconciler.policy.quota_rules import quota_below_usage, quota_lowered
from reconciler.policy.removal_rules import kept, mass_deletion, removed


def _window(check: Assessment, name: str, now: datetime) -> None:
    for platform in (check.head.platform, check.base.platform):
        status = windows.window_status(platform, name, now)
        if not status.open:
            when = (f"; the next window opens {status.next_open:%a %Y-%m-%d %H:%M} UTC" if status.next_open
                    else "; no window opens in the next year")
            check.add("outside-change-window", name, (
                f"it is {now:%a %Y-%m-%d %H:%M} UTC, {status.reason}{when}. Merge and apply then, or change the "
                "Platform's changeWindows"))
            return


def _take_over(check: Assessment, name: str, before: Environment | None, after: Environment) -> None:
    """A takeOver moves another environment's (or Platform's) objects to this one: a deliberate step that the
    owners of both must agree to, so a new one blocks by default, also when the environment itself is new."""
    added = sorted(set(after.take_over) - set(before.take_over if before else ()), key=str)
    if added:
        check.add("take-over-added", name, (
            f"{name} takes over the objects of {', '.join(map(str, added))} (takeOver): their labels and "
            "inventory change owner on apply. Ask the owners of both to review, and remove takeOver after the move"))


def _platform(check: Assessment) -> None:
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
    check = Assessment(base, head)
    touched = {c.environment for c in changes if c.touched}
    _platform(check)
    for name in sorted(base.environments.keys() | head.environments.keys()):
        before, after = base.environments.get(name), head.environments.get(name)
        if after is None:
            assert before is not None
            removed(check, name, before)
        else:
            if before is not None:
                kept(check, name, before, after, name in touched)
                quota_lowered(check, name, before, after, usage is not None)
            access(check, name, before, after)
            _take_over(check, name, before, after)
            if usage is not None:
                quota_below_usage(check, name, before, after, usage)
        if now is not None and (name in touched or (before is None) != (after is None)):
            _window(check, name, now)
    for change in changes:
        mass_deletion(check, change)
    return sorted(check.findings, key=lambda f: (-f.rank, f.environment, f.target, f.rule))
