"""One cluster's converge result in the terms ``/status`` and ``/metrics`` use: a state per target and cluster."""

from __future__ import annotations

import time

from reconciler.controller import target_facts
from reconciler.controller.status_model import SyncOutcome, TargetStatus
from reconciler.converge.results import WRITTEN, ClusterResult
from reconciler.plan.changes import PENDING


def outcome_of(result: ClusterResult, revision: str, duration: float, drift: bool) -> SyncOutcome:
    """How one cluster's converge went, per target, in the terms /status and /metrics use."""
    cluster_wide = result.cluster_failures
    targets: dict[str, TargetStatus] = {}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for plan in result.targets:
        failures = [*result.failures_of(plan.namespace), *cluster_wide]
        if failures:
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
        last_error = "; ".join([*map(str, failures), *plan.refusals, *([plan.held] if plan.held else [])]) or None
        targets[plan.namespace] = TargetStatus(
            environment=plan.environment, state=state, revision=revision if state == "converged" else None,
            last_error=last_error, last_sync_time=now if state == "converged" else None,
            pending_changes=0 if state == "converged" else len(plan.by_action(*PENDING)))
    if result.failures:
        state = "failed"
    elif result.failed:
        state = "refused"
    elif any(plan.held for plan in result.targets):
        state = "held"
    else:
        state = "converged"
    target_facts.add_facts(targets, result, revision, drift, now)
    applied, deleted, orphaned = (len(result.done(*WRITTEN)), len(result.done("delete")),
                                  len(result.done("orphan")))
    changed = applied + deleted + orphaned
    return SyncOutcome(state=state, revision=revision, duration=duration, applied=applied,
                       pruned=deleted, orphaned=orphaned, drift=changed if drift else 0,
                       errors=list(result.errors), writes=result.writes, targets=targets)
