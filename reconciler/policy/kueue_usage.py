"""Pure: what each ClusterQueue has admitted (``status.flavorsUsage``), judged against the head's nominal quota.

Kueue never evicts what it admitted when a nominal quota drops below it: the queue is simply over its quota
until workloads finish, and nothing new is admitted meanwhile. So a change that lowers a nominal quota below
admitted usage is a risk to show before merge (and to hold in the controller), like a ResourceQuota lowered
below what runs. Usage travels in the same per-target map as ResourceQuota usage, under keys of its own
(``kueue:<pool>/<resource>``), so both risk paths (``diff --kubeconfig`` and the controller) carry it unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reconciler.config.kueue import cluster_queue_name, flavor_name
from reconciler.config.model import Environment, Landscape
from reconciler.config.quantity import parse_quantity

PREFIX = "kueue:"
Usage = dict[str, dict[str, str]]  # "cluster/namespace" -> resource -> quantity in use


def key(pool: str, resource: str) -> str:
    return f"{PREFIX}{pool}/{resource}"


def usage_from_cluster_queues(cluster: str, landscape: Landscape, queues: Iterable[dict[str, Any]]) -> Usage:
    """Admitted usage per target of ``landscape`` on ``cluster``, from its live ClusterQueues."""
    by_name = {cluster_queue_name(t.platform, t.environment.name): t for t in landscape.targets
               if t.cluster.name == cluster}
    pools = {flavor_name(landscape.platform.name, p): p for t in by_name.values() for p in t.cluster.node_pools}
    usage: Usage = {}
    for queue in queues:
        target = by_name.get(queue.get("metadata", {}).get("name", ""))
        if target is None:
            continue
        used = usage.setdefault(target.key, {})
        for flavor in queue.get("status", {}).get("flavorsUsage", []):
            pool = pools.get(flavor.get("name", ""))
            for resource in flavor.get("resources", []) if pool else ():
                used[key(pool or "", resource["name"])] = _own(resource)
    return usage


def _own(resource: dict[str, Any]) -> str:
    """Admitted within the queue's own quota: the total less what it borrowed from the cohort (borrowing above
    the nominal quota is allowed; being above it on one's own is what a lowered quota causes)."""
    own = parse_quantity(resource.get("total", "0")) - parse_quantity(resource.get("borrowed", "0"))
    return str(own.numerator // own.denominator) if own.denominator == 1 else str(float(own))


def merge(usage: Usage, more: Usage) -> Usage:
    for target, used in more.items():
        usage.setdefault(target, {}).update(used)
    return usage


def below_usage(before: Environment | None, after: Environment, used: dict[str, str]) -> list[str]:
    """Nominal quotas the change sets or lowers below admitted usage: "<resource> on <pool> <new> < <used>"."""
    if after.kueue is None:
        return []
    old = before.kueue.pools if before is not None and before.kueue is not None else {}
    found = []
    for name, pool in sorted(after.kueue.pools.items()):
        for resource, nominal in sorted(pool.nominal.items()):
            previous = old[name].nominal.get(resource) if name in old else None
            admitted = used.get(key(name, resource))
            if previous == nominal or admitted is None:
                continue
            if parse_quantity(nominal) < parse_quantity(admitted):
                found.append(f"{resource} on {name} {nominal} < {admitted} admitted within its own quota")
    return found
