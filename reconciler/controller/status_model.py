"""The controller's status model: what /status shows of each cluster and each of its environment targets, and one
converge of one cluster as the controller interpreted it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TargetStatus:
    environment: str
    state: str = "pending"  # pending | converged | refused | conflict | held | failed | removed
    revision: str | None = None  # the revision last converged on this target
    last_error: str | None = None
    last_sync_time: str | None = None
    pending_changes: int = 0
    drift_corrected: int = 0  # objects put back at the last sync of a revision already applied
    quota: dict[str, dict[str, str | None]] = field(default_factory=dict)  # see reconciler.plan.quota.Usage
    agent: dict[str, Any] | None = None  # state, ready, wanted, detail: the agent Deployment as the API reports it
    objects: list[str] = field(default_factory=list)  # what the reconciler manages in the target
    changes: list[dict[str, str]] = field(default_factory=list)  # the last changes written, newest first


@dataclass
class ClusterStatus:
    state: str = "pending"  # pending | converging | converged | refused | held | failed | standby
    revision: str | None = None  # the revision last converged on every target of the cluster
    converging_revision: str | None = None
    last_error: str | None = None
    last_sync_time: str | None = None
    last_attempt_time: str | None = None
    failures: int = 0  # consecutive failed attempts
    next_retry_in_seconds: float | None = None
    written_this_sync: int = 0
    targets: dict[str, TargetStatus] = field(default_factory=dict)


@dataclass
class SyncOutcome:
    """One converge of one cluster, as the controller interpreted it."""

    state: str
    revision: str
    duration: float
    applied: int = 0
    pruned: int = 0
    orphaned: int = 0
    drift: int = 0
    errors: list[str] = field(default_factory=list)
    writes: int = 0
    targets: dict[str, TargetStatus] = field(default_factory=dict)


def camel(value: Any) -> Any:
    """A status dataclass as /status shows it: camelCase keys, target names kept."""
    if isinstance(value, dict):
        return {_camel_key(k): camel(v) if k != "targets" else {n: camel(t) for n, t in v.items()}
                for k, v in value.items()}
    return value


def _camel_key(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)
