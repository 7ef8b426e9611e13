"""Whether each agent's Deployment has rolled out, judged from objects already read wherever possible.

A no-op converge reads every Deployment once, in the LIST that planned it; health is decided from that LIST,
never from a GET per agent. Only agents just written (or still progressing while ``--wait`` polls) are read
again: one GET each when they are few, one LIST of every managed Deployment when they are many.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.kube.client import ClusterClient, Object
from reconciler.plan.changes import TargetPlan
from reconciler.plan.inventory import ObjectRef

# Above this many agents to re-read, one LIST (about two pages at 1,000 agents) is cheaper than a GET each.
GET_LIMIT = 20


@dataclass
class AgentHealth:
    target: str
    state: str  # ready | progressing | failed | missing
    detail: str
    ready: int = 0  # ready replicas, as the Deployment's status says
    wanted: int = 0


def rollout_state(deployment: Object | None) -> tuple[str, str]:
    if deployment is None:
        return "missing", "the agent Deployment does not exist"
    spec, status = deployment.get("spec", {}), deployment.get("status", {})
    wanted = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < deployment.get("metadata", {}).get("generation", 1):
        return "progressing", "the new revision is not yet observed by the controller"
    for condition in status.get("conditions", []):
        if condition.get("type") == "Progressing" and condition.get("reason") == "ProgressDeadlineExceeded":
            return "failed", condition.get("message", "progress deadline exceeded")
    updated, available = status.get("updatedReplicas", 0), status.get("availableReplicas", 0)
    if updated >= wanted and available >= wanted:
        return "ready", f"{available}/{wanted} replicas available"
    return "progressing", f"{available}/{wanted} replicas available, {updated} updated"


def health_of(target: str, deployment: Object | None) -> AgentHealth:
    state, detail = rollout_state(deployment)
    found = deployment or {}
    return AgentHealth(target, state, detail, found.get("status", {}).get("readyReplicas", 0),
                       found.get("spec", {}).get("replicas", 1))


def agent_health(client: ClusterClient, targets: Sequence[TargetPlan], listed: Mapping[ObjectRef, Object],
                 wait_seconds: float, selector: str) -> list[AgentHealth]:
    """Health of every agent kept; ``listed`` is the live state read before converging."""
    agents = {c.ref: t.key for t in targets if not t.removed for c in t.changes
              if c.ref.kind == "Deployment" and c.action in ("create", "update", "unchanged")}
    if not agents:
        return []
    stale = {c.ref for t in targets for c in t.changes if c.ref in agents and c.action in ("create", "update")}
    live = {ref: listed.get(ref) for ref in agents}
    deadline = time.monotonic() + wait_seconds
    while True:
        live.update(_reread(client, stale, selector))
        health = {ref: health_of(agents[ref], live[ref]) for ref in agents}
        done = all(h.state in ("ready", "failed") for h in health.values())
        if done or time.monotonic() >= deadline:
            if wait_seconds:
                for h in health.values():
                    if h.state == "progressing":
                        h.detail += f" (still progressing after waiting {wait_seconds:.0f}s)"
            return list(health.values())
        stale = {ref for ref, h in health.items() if h.state not in ("ready", "failed")}
        time.sleep(1.0)


def _reread(client: ClusterClient, refs: set[ObjectRef], selector: str) -> dict[ObjectRef, Object | None]:
    if not refs:
        return {}
    if len(refs) <= GET_LIMIT:
        return {ref: client.get("Deployment", ref.namespace, ref.name) for ref in refs}
    listed = {ObjectRef.of(o): o for o in client.list("Deployment", selector)}
    return {ref: listed.get(ref) for ref in refs}
