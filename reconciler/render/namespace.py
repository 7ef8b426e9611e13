"""The environment's namespace and its guard rails: ResourceQuota, LimitRange and NetworkPolicy."""

from __future__ import annotations

from reconciler.config.kueue import enforces_resource_quota
from reconciler.config.model import POD_SECURITY_LABEL, Platform, Target
from reconciler.render.objects import Manifest, manifest

QUOTA_NAME = "environment-quota"
LIMITS_NAME = "environment-limits"
ISOLATION_NAME = "environment-isolation"
# The same in every target's NetworkPolicy: shared, as the agent's constant parts are (see agent.py).
_EVERY_POD: dict[str, object] = {}
_OWN_NAMESPACE: dict[str, object] = {"podSelector": {}}
_INGRESS = ["Ingress"]


def render(target: Target, platform: Platform) -> list[Manifest]:
    environment = target.environment
    objects = [manifest("v1", "Namespace", target.namespace, target, namespaced=False,
                        extra_labels=pod_security_labels(environment.pod_security))]
    if environment.quota and enforces_resource_quota(platform.quota_enforcement):
        objects.append(manifest("v1", "ResourceQuota", QUOTA_NAME, target, spec={"hard": dict(environment.quota)}))
    if environment.limits:
        limit = {"type": "Container", **{key: dict(values) for key, values in sorted(environment.limits.items())}}
        objects.append(manifest("v1", "LimitRange", LIMITS_NAME, target, spec={"limits": [limit]}))
    if environment.network == "isolated":
        objects.append(_isolation(target, platform))
    return objects


def pod_security_labels(level: str) -> dict[str, str]:
    """Pod Security admission enforces the level; warn and audit at the same level show in kubectl and in the
    audit log why a pod was refused."""
    return {f"{POD_SECURITY_LABEL}{mode}": level for mode in ("enforce", "warn", "audit")}


def _isolation(target: Target, platform: Platform) -> Manifest:
    """Deny ingress from other namespaces; allow the namespace itself and the ML control plane's namespace."""
    sources: list[dict[str, object]] = [_OWN_NAMESPACE]
    if platform.control_plane_namespace and platform.control_plane_namespace != target.namespace:
        sources.append(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": platform.control_plane_namespace}}}
        )
    return manifest(
        "networking.k8s.io/v1", "NetworkPolicy", ISOLATION_NAME, target,
        spec={"podSelector": _EVERY_POD, "policyTypes": _INGRESS, "ingress": [{"from": sources}]},
    )
