"""What a person wants to know about each target after a converge, beyond its state: quota usage, agent health,
the objects the reconciler manages there and what it just changed. Filled into the targets /status shows."""

from __future__ import annotations

from typing import Any

from reconciler.controller.status_model import TargetStatus
from reconciler.converge.agent_health import AgentHealth
from reconciler.converge.results import ClusterResult
from reconciler.plan import quota
from reconciler.plan.changes import TargetPlan


def add_facts(targets: dict[str, TargetStatus], result: ClusterResult, revision: str, drift: bool,
              now: str) -> None:
    """Complete ``targets`` (by namespace) from the converge ``result`` of ``revision`` at ``now``."""
    health = {h.target: h for h in result.health}
    for plan in result.targets:
        target = targets.get(plan.namespace)
        if target is None:
            continue
        target.quota = result.quotas.get(plan.namespace) or _desired_quota(plan)
        target.agent = _agent(health.get(plan.key))
        target.objects = sorted(str(c.ref) for c in plan.changes if c.action not in ("delete", "orphan"))
        if target.state == "converged":
            written = [e for e in result.done("create", "update", "delete", "orphan") if e.target == plan.namespace]
            target.changes = [{"time": now, "revision": revision, "action": e.action, "object": str(e.ref)}
                              for e in written]
            target.drift_corrected = len(written) if drift else 0


def _desired_quota(plan: TargetPlan) -> quota.Usage:
    """A quota created by this very converge has not been counted yet: its limits are known, its usage not."""
    for change in plan.changes:
        if change.ref.kind == "ResourceQuota" and change.desired is not None:
            return quota.usage_of(change.desired)
    return {}


def _agent(health: AgentHealth | None) -> dict[str, Any] | None:
    if health is None:
        return None
    return {"state": health.state, "ready": health.ready, "wanted": health.wanted, "detail": health.detail}
