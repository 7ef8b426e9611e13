"""Kubernetes object helpers shared by the renderers: labels, metadata, apply order."""

from __future__ import annotations

from typing import Any

from reconciler.config.model import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, PLATFORM_LABEL, Target

Manifest = dict[str, Any]

# Dependency order: a namespace before what lives in it, RBAC before the workloads that need it, the LimitRange
# before the ResourceQuota (so pods admitted under the quota get default requests), Kueue's queues next to the
# quota (a LocalQueue names its ClusterQueue), configuration before the Deployment that reads it. Deletion runs in
# reverse.
APPLY_ORDER = (
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "LimitRange",
    "ResourceQuota",
    "ClusterQueue",
    "LocalQueue",
    "NetworkPolicy",
    "ConfigMap",
    "Deployment",
)


_NO_LABELS: dict[str, str] = {}
_RANK = {kind: rank for rank, kind in enumerate(APPLY_ORDER)}


def labels(target: Target, **extra: str) -> dict[str, str]:
    """Ownership is all three labels together (and the inventory): the reconciler, the environment and the
    Platform, since several environments repositories may share a cluster."""
    return _labels(target, extra)


def _labels(target: Target, extra: dict[str, str]) -> dict[str, str]:
    environment = target.environment
    return {
        **environment.labels,
        **extra,
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        ENVIRONMENT_LABEL: environment.name,
        PLATFORM_LABEL: target.platform,
    }


def manifest(api_version: str, kind: str, name: str, target: Target, *, namespaced: bool = True,
             extra_labels: dict[str, str] | None = None, **body: Any) -> Manifest:
    labelled = _labels(target, _NO_LABELS if extra_labels is None else extra_labels)
    metadata: dict[str, Any] = (
        {"name": name, "labels": labelled, "namespace": target.namespace} if namespaced
        else {"name": name, "labels": labelled})
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}


def sort_for_apply(objects: list[Manifest]) -> list[Manifest]:
    return sorted(objects, key=lambda o: (_RANK[o["kind"]], o["metadata"]["name"]))
