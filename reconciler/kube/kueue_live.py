"""Admitted Kueue usage read from one cluster into the per-target usage that the risk rules judge."""

from __future__ import annotations

from reconciler.config.kueue import enforces_kueue
from reconciler.config.model import Landscape
from reconciler.kube import kueue as kube_kueue
from reconciler.kube.client import ClusterClient
from reconciler.policy import kueue_usage


def add_usage(usage: kueue_usage.Usage, cluster: str, head: Landscape, client: ClusterClient) -> None:
    """Merge what the head's ClusterQueues on ``cluster`` have admitted; nothing is read when the Platform does not
    enforce quota with Kueue (the cluster may not even serve Kueue's API)."""
    if enforces_kueue(head.platform.quota_enforcement):
        queues = kube_kueue.managed_cluster_queues(client)
        kueue_usage.merge(usage, kueue_usage.usage_from_cluster_queues(cluster, head, queues))
