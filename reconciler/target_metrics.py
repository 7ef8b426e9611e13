"""Gauges per environment target for /metrics: its state, when it last converged, its agent's ready replicas and
its quota used and hard, so dashboards and alerts see what the status page shows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from reconciler import quota
from reconciler.prometheus_text import labels, number

if TYPE_CHECKING:
    from reconciler.server import ClusterStatus, TargetStatus

TARGET_STATES = ("pending", "converged", "refused", "conflict", "held", "failed", "removed")
GAUGES = {
    "reconciler_target_state": "1 for the state each environment target is in, 0 for the others.",
    "reconciler_target_last_success_timestamp_seconds": "When each target last converged (Unix time).",
    "reconciler_agent_ready_replicas": "Ready replicas of each target's agent Deployment.",
    "reconciler_agent_wanted_replicas": "Replicas each target's agent Deployment asks for.",
    "reconciler_quota_used": "ResourceQuota status.used per target and resource (cores, bytes, GPUs).",
    "reconciler_quota_hard": "ResourceQuota status.hard per target and resource (cores, bytes, GPUs).",
}


def target_lines(clusters: Iterable[tuple[str, ClusterStatus]]) -> list[str]:
    samples: dict[str, list[str]] = {name: [] for name in GAUGES}
    for cluster, state in clusters:
        for namespace, target in sorted(state.targets.items()):
            where = {"cluster": cluster, "namespace": namespace, "environment": target.environment}
            _target(samples, where, target)
    lines: list[str] = []
    for name, help_text in GAUGES.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples[name]]
    return lines


def _target(samples: dict[str, list[str]], where: dict[str, str], target: TargetStatus) -> None:
    for state in TARGET_STATES:
        samples["reconciler_target_state"].append(
            f"reconciler_target_state{labels({**where, 'state': state})} {int(target.state == state)}")
    if target.last_sync_time:
        stamp = datetime.strptime(target.last_sync_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        samples["reconciler_target_last_success_timestamp_seconds"].append(
            f"reconciler_target_last_success_timestamp_seconds{labels(where)} {number(stamp)}")
    if target.agent is not None:
        samples["reconciler_agent_ready_replicas"].append(
            f"reconciler_agent_ready_replicas{labels(where)} {int(target.agent['ready'])}")
        samples["reconciler_agent_wanted_replicas"].append(
            f"reconciler_agent_wanted_replicas{labels(where)} {int(target.agent['wanted'])}")
    for resource, figures in sorted(target.quota.items()):
        series = labels({**where, "resource": resource})
        samples["reconciler_quota_hard"].append(
            f"reconciler_quota_hard{series} {number(float(quota.amount(figures['hard'])))}")
        if figures["used"] is not None:
            samples["reconciler_quota_used"].append(
                f"reconciler_quota_used{series} {number(float(quota.amount(figures['used'])))}")
