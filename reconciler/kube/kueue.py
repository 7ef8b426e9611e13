"""Kueue on one cluster: the Platform's shared objects, ClusterQueue usage, and draining a ClusterQueue.

A ClusterQueue deleted while it has admitted workloads stays Terminating until they finish (Kueue's finalizer),
so removal drains first: ``stopPolicy: HoldAndDrain`` stops admission and evicts what is admitted, and the queue
is deleted once Kueue reports no admitted workload. The wait is bounded: a queue still draining is left for the
next run, which never hangs a converge.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from reconciler.config.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from reconciler.kube.client import ClusterClient, Object

Usage = dict[str, dict[str, str]]  # flavor -> resource -> quantity admitted now


@dataclass(frozen=True)
class Drain:
    name: str
    drained: bool
    admitted: int  # workloads still admitted when the wait ended


def apply_shared(client: ClusterClient, objects: list[Object], *, dry_run: bool = False) -> list[str]:
    """Server-side apply of the Platform's flavors and priority classes; the objects written, as kind/name."""
    for obj in objects:
        client.apply(obj, dry_run=dry_run)
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objects]


def usage(queue: Object) -> Usage:
    """What a ClusterQueue has admitted now, from ``status.flavorsUsage``."""
    return {
        flavor["name"]: {r["name"]: str(r.get("total", "0")) for r in flavor.get("resources", [])}
        for flavor in queue.get("status", {}).get("flavorsUsage", [])
    }


def admitted(queue: Object | None) -> int:
    """Workloads the ClusterQueue holds quota for: admitted, or reserving quota on their way to admission."""
    status = (queue or {}).get("status", {})
    return max(int(status.get("admittedWorkloads", 0)), int(status.get("reservingWorkloads", 0)))


def stopped(queue: Object | None, generation: int) -> bool:
    """Kueue has seen the stop: its status was written after the patch, so the counts beside it are current.
    Until then the counts may predate a workload admitted a moment ago and read 0 while it holds quota. Kueue
    names ``Stopped`` first among the reasons a queue is inactive, unless the queue is already being deleted
    (``Terminating``, which still evicts under HoldAndDrain)."""
    for condition in (queue or {}).get("status", {}).get("conditions", []):
        if condition.get("type") == "Active":
            return (condition.get("status") == "False" and condition.get("reason") in ("Stopped", "Terminating")
                    and int(condition.get("observedGeneration", generation)) >= generation)
    return False


def drain(client: ClusterClient, name: str, timeout: float, interval: float = 0.5) -> Drain:
    """Stop a ClusterQueue (HoldAndDrain) and wait up to ``timeout`` seconds for Kueue to report it stopped
    and holding no workload."""
    patched = client.merge_patch("ClusterQueue", None, name, {"spec": {"stopPolicy": "HoldAndDrain"}})
    generation = int(patched.get("metadata", {}).get("generation", 0))
    deadline = time.monotonic() + timeout
    while True:
        queue = client.get("ClusterQueue", None, name)
        count = admitted(queue)
        drained = queue is None or (stopped(queue, generation) and count == 0)
        if drained or time.monotonic() >= deadline:
            return Drain(name, drained, count)
        time.sleep(interval)


def managed_cluster_queues(client: ClusterClient) -> list[Object]:
    return client.list("ClusterQueue", f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}")
