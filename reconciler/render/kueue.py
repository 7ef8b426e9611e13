"""Pure: the Kueue objects of a landscape on one cluster, when the Platform enforces quota with Kueue.

Per cluster and Platform: a ResourceFlavor per node pool an environment has quota on (the pool's node labels,
taints and tolerations, which Kueue injects into admitted pods) and a WorkloadPriorityClass per queue priority.
Per environment target: a ClusterQueue (per-flavor quotas, cohort, preemption) that admits only the target's
namespace, and a LocalQueue per agent queue in that namespace. Cluster-scoped names carry the Platform's name,
since several Platforms may share a cluster; flavors are shared by the Platform's environments on the cluster,
because Kueue lends quota within a cohort only flavor by flavor.
"""

from __future__ import annotations

from typing import Any

from reconciler.config import kueue as kueue_config
from reconciler.config.kueue import KueuePool, KueueQuota, enforces_kueue, flavor_name
from reconciler.config.model import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    PLATFORM_LABEL,
    Landscape,
    NodePool,
    Target,
)
from reconciler.render.objects import Manifest, manifest

API_VERSION = "kueue.x-k8s.io/v1beta2"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"  # a Job with this label is admitted through that LocalQueue
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
KINDS = ("ResourceFlavor", "WorkloadPriorityClass", "ClusterQueue", "LocalQueue")


def cluster_queue_name(target: Target) -> str:
    return kueue_config.cluster_queue_name(target.platform, target.environment.name)


def priority_class_name(platform: str, priority: int) -> str:
    return f"{platform}-priority-{priority}"


def render_cluster(landscape: Landscape, cluster: str) -> list[Manifest]:
    """The Platform's shared objects on one cluster: flavors and priority classes, sorted by kind and name."""
    if not enforces_kueue(landscape.platform.quota_enforcement):
        return []
    targets = [t for t in landscape.targets if t.cluster.name == cluster and t.environment.kueue is not None]
    pools: dict[str, NodePool] = {}
    priorities: set[int] = set()
    for target in targets:
        quota = target.environment.kueue
        assert quota is not None
        known = target.cluster.node_pools
        pools.update({name: known[name] for name in quota.pools if name in known})
        agent = target.environment.agent
        priorities.update(q.priority for q in (agent.queues if agent else ()))
    platform = landscape.platform.name
    flavors = [_flavor(platform, pool) for _, pool in sorted(pools.items())]
    classes = [_priority_class(platform, value) for value in sorted(priorities)]
    return flavors + classes


def render_target(target: Target, landscape: Landscape) -> list[Manifest]:
    """The environment's ClusterQueue and its LocalQueues on this target."""
    quota = target.environment.kueue
    if not enforces_kueue(landscape.platform.quota_enforcement) or quota is None:
        return []
    queue = cluster_queue_name(target)
    agent = target.environment.agent
    local = [
        manifest(API_VERSION, "LocalQueue", q.name, target, spec={"clusterQueue": queue})
        for q in sorted(agent.queues if agent else (), key=lambda q: q.name)
    ]
    return [_cluster_queue(target, quota), *local]


def _platform_labels(platform: str) -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, PLATFORM_LABEL: platform}


def _flavor(platform: str, pool: NodePool) -> Manifest:
    spec: dict[str, Any] = {"nodeLabels": dict(sorted(pool.node_selector.items()))}
    taints = [_taint(t) for t in pool.tolerations if t.get("key") and t.get("effect")]
    if taints:
        spec["nodeTaints"] = taints
        spec["tolerations"] = [dict(t) for t in pool.tolerations]
    return {"apiVersion": API_VERSION, "kind": "ResourceFlavor",
            "metadata": {"name": flavor_name(platform, pool.name), "labels": _platform_labels(platform)},
            "spec": spec}


def _taint(toleration: dict[str, Any]) -> dict[str, str]:
    taint = {"key": str(toleration["key"]), "effect": str(toleration["effect"])}
    if "value" in toleration:
        taint["value"] = str(toleration["value"])
    return taint


def _priority_class(platform: str, value: int) -> Manifest:
    return {"apiVersion": API_VERSION, "kind": "WorkloadPriorityClass",
            "metadata": {"name": priority_class_name(platform, value), "labels": _platform_labels(platform)},
            "value": value, "description": f"Agent queues of priority {value}"}


def _cluster_queue(target: Target, quota: KueueQuota) -> Manifest:
    pools = [p for name, p in sorted(quota.pools.items()) if name in target.cluster.node_pools]
    # Kueue wants every flavor of a resource group to list the group's resources, in the same order.
    covered = sorted({resource for pool in pools for resource in pool.nominal})
    spec: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": target.namespace}},
        "queueingStrategy": "BestEffortFIFO",
        "preemption": {"reclaimWithinCohort": quota.reclaim_within_cohort,
                       "withinClusterQueue": quota.within_cluster_queue},
        "resourceGroups": [{"coveredResources": covered,
                            "flavors": [_flavor_quotas(target.platform, pool, covered, quota.cohort is not None)
                                        for pool in pools]}] if covered else [],
    }
    if quota.cohort is not None:
        spec["cohortName"] = f"{target.platform}-{quota.cohort}"
    return manifest(API_VERSION, "ClusterQueue", cluster_queue_name(target), target, namespaced=False, spec=spec)


def _flavor_quotas(platform: str, pool: KueuePool, covered: list[str], in_cohort: bool) -> dict[str, Any]:
    resources = []
    for resource in covered:
        entry = {"name": resource, "nominalQuota": pool.nominal.get(resource, "0")}
        # Kueue refuses limits on a queue without a cohort; without one there is nothing to borrow from.
        if in_cohort and resource in pool.borrowing_limit:
            entry["borrowingLimit"] = pool.borrowing_limit[resource]
        if in_cohort and resource in pool.lending_limit:
            entry["lendingLimit"] = pool.lending_limit[resource]
        resources.append(entry)
    return {"name": flavor_name(platform, pool.name), "resources": resources}
