"""Quota rules: a quota lowered, and a quota (or Kueue nominal quota) below what runs in the namespace now."""

from __future__ import annotations

from reconciler.config.model import Environment
from reconciler.config.quantity import parse_quantity
from reconciler.policy import kueue_usage
from reconciler.policy.findings import Assessment, QuotaUsage, listing


def _lower(before: str, after: str) -> bool:
    try:
        return parse_quantity(after) < parse_quantity(before)
    except ValueError:
        return False


def quota_lowered(check: Assessment, name: str, before: Environment, after: Environment, live: bool) -> None:
    if before.quota == after.quota:
        return  # the same text of every quantity: none is lower (most environments of a commit)
    lowered = [f"{resource} {before.quota[resource]} -> {value}" for resource, value in sorted(after.quota.items())
               if resource in before.quota and _lower(before.quota[resource], value)]
    if lowered:
        hint = "" if live else ". Compare with current usage (run with --kubeconfig)"
        check.add("quota-lowered", name, (
            f"quota of {name} lowered: {listing(lowered)}. Running pods keep their resources; new pods beyond the "
            f"quota are refused{hint}"))


def quota_below_usage(check: Assessment, name: str, before: Environment | None, after: Environment,
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
                f"quota of {name} on {key} would be below what runs there now: {listing(below)}. New pods are "
                "refused until usage drops; lower usage first or choose a higher quota"), target=key)
        queued = kueue_usage.below_usage(before, after, used)
        if queued:
            check.add("quota-below-usage", name, (
                f"Kueue quota of {name} on {key} would be below what its ClusterQueue has admitted: "
                f"{listing(queued)}. Kueue evicts nothing; it admits no new workload until usage drops. Let "
                "workloads finish first or choose a higher nominal quota"), target=key)

