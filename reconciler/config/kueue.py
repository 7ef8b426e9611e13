"""Kueue quota in the model: per environment and node pool, nominal amounts and cohort limits, and its checks.

An environment's ``kueue`` settings merge through profiles like its ``quota``. The checks run on the resolved
environments together, since a borrowing limit is judged against the whole cohort: a limit above what the
other members could ever lend can never be reached and means the author expected quota that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from reconciler.config.located import LocatedDict
from reconciler.config.quantity import parse_quantity
from reconciler.errors import ConfigError, Location

Enforcement = Literal["ResourceQuota", "Kueue", "Both"]
RESOURCES = {"cpu": "cpu", "memory": "memory", "gpu": "nvidia.com/gpu"}  # git's name -> Kubernetes' name


@dataclass(frozen=True, slots=True)
class KueuePool:
    """One environment's quota on one node pool (one ResourceFlavor), Kubernetes resource names as keys."""

    name: str
    nominal: dict[str, str]
    borrowing_limit: dict[str, str]
    lending_limit: dict[str, str]
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class KueueQuota:
    cohort: str | None
    reclaim_within_cohort: str
    within_cluster_queue: str
    pools: dict[str, KueuePool]
    location: Location | None = field(default=None, compare=False)


def flavor_name(platform: str, pool: str) -> str:
    """A ResourceFlavor's name: the Platform's, since several Platforms may share a cluster."""
    return f"{platform}-{pool}"


def cluster_queue_name(platform: str, environment: str) -> str:
    return f"{platform}-{environment}"


def enforces_kueue(enforcement: Enforcement) -> bool:
    return enforcement in ("Kueue", "Both")


def enforces_resource_quota(enforcement: Enforcement) -> bool:
    return enforcement in ("ResourceQuota", "Both")


def _amounts(spec: dict[str, Any]) -> dict[str, str]:
    return {RESOURCES[key]: str(value) for key, value in sorted(spec.items()) if key in RESOURCES}


def resolve(settings: LocatedDict) -> KueueQuota | None:
    """The environment's merged ``kueue`` settings as a typed value, or None when it has none."""
    spec = settings.get("kueue")
    if spec is None:
        return None
    pools = spec.get("pools", {})
    preemption = spec.get("preemption", {})
    return KueueQuota(
        cohort=spec.get("cohort"),
        reclaim_within_cohort=preemption.get("reclaimWithinCohort", "Never"),
        within_cluster_queue=preemption.get("withinClusterQueue", "Never"),
        pools={
            name: KueuePool(name, _amounts(pool), _amounts(pool.get("borrowingLimit", {})),
                            _amounts(pool.get("lendingLimit", {})),
                            pools.where(name) if isinstance(pools, LocatedDict) else None)
            for name, pool in sorted(pools.items())
        },
        location=settings.where("kueue"),
    )


def queue_errors(environment: str, settings: LocatedDict, quota: KueueQuota | None,
                 cluster_pools: dict[str, set[str]]) -> list[ConfigError]:
    """A queue whose node pool has no Kueue quota, and a quota on a pool a target cluster lacks.

    ``cluster_pools`` maps each target cluster of the environment to its node pools."""
    errors = []
    queues = settings.get("agent", {}).get("queues", [])
    pools = quota.pools if quota is not None else {}
    for index, queue in enumerate(queues):
        pool = queue.get("nodePool")
        if pool is None or pool in pools:
            continue
        where = queue.where("nodePool") if isinstance(queue, LocatedDict) else settings.location
        known = ", ".join(sorted(pools)) or "none"
        errors.append(ConfigError(where, f"spec.agent.queues[{index}].nodePool", (
            f"queue {queue['name']!r} of environment {environment!r} runs on node pool {pool!r}, which has no Kueue "
            f"quota (spec.kueue.pools has: {known}); add spec.kueue.pools.{pool} with its cpu/memory/gpu")))
    for name, pool in pools.items():
        if not pool.nominal:
            errors.append(ConfigError(pool.location or settings.location, f"spec.kueue.pools.{name}", (
                f"node pool {name!r} of environment {environment!r} has no quota: Kueue would admit nothing on it; "
                "give it cpu, memory or gpu, or remove the pool")))
        for cluster, known_pools in sorted(cluster_pools.items()):
            if name not in known_pools:
                errors.append(ConfigError(pool.location or settings.location, f"spec.kueue.pools.{name}", (
                    f"node pool {name!r} is not defined on cluster {cluster!r}, a target of environment "
                    f"{environment!r} (its pools: {', '.join(sorted(known_pools)) or 'none'}); define it in the "
                    "Cluster's nodePools or remove the quota")))
    return errors


def cohort_errors(quotas: dict[str, KueueQuota]) -> list[ConfigError]:
    """Borrowing limits above what the rest of the cohort could lend on that pool and resource."""
    errors = []
    for environment, quota in sorted(quotas.items()):
        if quota.cohort is None:
            continue
        others = [q for e, q in quotas.items() if e != environment and q.cohort == quota.cohort]
        for pool in quota.pools.values():
            for resource, limit in sorted(pool.borrowing_limit.items()):
                available = sum((_lendable(other.pools.get(pool.name), resource) for other in others), Fraction(0))
                if parse_quantity(limit) > available:
                    errors.append(ConfigError(pool.location or quota.location or Location("?", 0),
                                              f"spec.kueue.pools.{pool.name}.borrowingLimit",
                                              f"environment {environment!r} may borrow {limit} {resource} on "
                                              f"{pool.name!r}, but the rest of cohort {quota.cohort!r} can lend at "
                                              f"most {_format(available)}; lower the limit or give the cohort "
                                              "more quota"))
    return errors


def _lendable(pool: KueuePool | None, resource: str) -> Fraction:
    if pool is None or resource not in pool.nominal:
        return Fraction(0)
    nominal = parse_quantity(pool.nominal[resource])
    if resource in pool.lending_limit:
        return min(nominal, parse_quantity(pool.lending_limit[resource]))
    return nominal


def _format(amount: Fraction) -> str:
    return str(int(amount)) if amount == int(amount) else str(amount)
