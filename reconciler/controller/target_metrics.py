"""Gauges per environment target for /metrics: its state, when it last converged, its agent's ready replicas and
its quota used and hard, so dashboards and alerts see what the status page shows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily

from reconciler.controller.status_model import ClusterStatus, TargetStatus
from reconciler.plan import quota

TARGET_STATES = ("pending", "converged", "refused", "conflict", "held", "failed", "removed")
WHERE = ["cluster", "namespace", "environment"]
GAUGES = {
    "reconciler_target_state": ("1 for the state each environment target is in, 0 for the others.", ["state"]),
    "reconciler_target_last_success_timestamp_seconds": ("When each target last converged (Unix time).", []),
    "reconciler_agent_ready_replicas": ("Ready replicas of each target's agent Deployment.", []),
    "reconciler_agent_wanted_replicas": ("Replicas each target's agent Deployment asks for.", []),
    "reconciler_quota_used": ("ResourceQuota status.used per target and resource (cores, bytes, GPUs).",
                              ["resource"]),
    "reconciler_quota_hard": ("ResourceQuota status.hard per target and resource (cores, bytes, GPUs).",
                              ["resource"]),
}


def families(clusters: Iterable[tuple[str, ClusterStatus]]) -> Iterator[GaugeMetricFamily]:
    found = {name: GaugeMetricFamily(name, text, labels=WHERE + extra) for name, (text, extra) in GAUGES.items()}
    for cluster, state in clusters:
        for namespace, target in sorted(state.targets.items()):
            _target(found, [cluster, namespace, target.environment], target)
    yield from found.values()


def _target(found: dict[str, GaugeMetricFamily], where: list[str], target: TargetStatus) -> None:
    for state in TARGET_STATES:
        found["reconciler_target_state"].add_metric([*where, state], int(target.state == state))
    if target.last_sync_time:
        stamp = datetime.strptime(target.last_sync_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        found["reconciler_target_last_success_timestamp_seconds"].add_metric(where, stamp)
    if target.agent is not None:
        found["reconciler_agent_ready_replicas"].add_metric(where, int(target.agent["ready"]))
        found["reconciler_agent_wanted_replicas"].add_metric(where, int(target.agent["wanted"]))
    for resource, figures in sorted(target.quota.items()):
        found["reconciler_quota_hard"].add_metric([*where, resource], float(quota.amount(figures["hard"])))
        if figures["used"] is not None:
            found["reconciler_quota_used"].add_metric([*where, resource], float(quota.amount(figures["used"])))
