"""The environment's ML agent, a Polyaxon agent confined to its namespace.

It gets a ServiceAccount whose Role grants what an agent needs to run ML jobs, and nothing outside its own
namespace; a ConfigMap with the environment Polyaxon's settings code reads (``polyaxon.py``); and a Deployment
that starts it as the official chart does (``args: ["start"]``), on its node pool, with its token from a Secret
that already exists in the namespace (never from git). Queues are objects of the control plane, not of the agent:
nothing here renders them (docs/topologies.md says where they go).
"""

from __future__ import annotations

from typing import Any

from reconciler.config.model import Agent, Platform, Target
from reconciler.render import polyaxon
from reconciler.render.objects import Manifest, manifest

AGENT_NAME = "ml-agent"
CONFIG_NAME = "ml-agent-config"
APP_LABELS = {"app.kubernetes.io/name": AGENT_NAME, "app.kubernetes.io/component": "agent"}

# What an ML agent does in its namespace: run and watch jobs and their pods, expose services, mount configuration
# and credentials, follow logs and events. No cluster-scoped rights and nothing in other namespaces.
AGENT_RULES: tuple[dict[str, Any], ...] = (
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": [""], "resources": ["pods/log", "pods/status"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch", "create", "patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
)


def render(target: Target, platform: Platform) -> list[Manifest]:
    agent = target.environment.agent
    if agent is None:
        return []
    return [
        manifest("v1", "ServiceAccount", AGENT_NAME, target, extra_labels=APP_LABELS),
        manifest("rbac.authorization.k8s.io/v1", "Role", AGENT_NAME, target, extra_labels=APP_LABELS,
                 rules=[dict(rule) for rule in AGENT_RULES]),
        manifest(
            "rbac.authorization.k8s.io/v1", "RoleBinding", AGENT_NAME, target, extra_labels=APP_LABELS,
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": AGENT_NAME},
            subjects=[{"kind": "ServiceAccount", "name": AGENT_NAME, "namespace": target.namespace}],
        ),
        manifest("v1", "ConfigMap", CONFIG_NAME, target, extra_labels=APP_LABELS,
                 data=polyaxon.environment(agent, target, platform.control_plane_host)),
        _deployment(agent, target),
    ]


def _deployment(agent: Agent, target: Target) -> Manifest:
    selector = {"app.kubernetes.io/name": AGENT_NAME, "reconciler/environment": target.environment.name}
    token = agent.token_secret
    container: dict[str, Any] = {
        "name": "agent",
        "image": agent.image,
        "args": ["start"],
        "envFrom": [{"configMapRef": {"name": CONFIG_NAME}}],
        "env": [{"name": token.key, "valueFrom": {"secretKeyRef": {"name": token.name, "key": token.key}}}],
        # The root filesystem is read-only; Polyaxon keeps its temporary configuration and home under /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    if agent.resources:
        container["resources"] = {k: dict(sorted(v.items())) for k, v in sorted(agent.resources.items())}
    pool = target.cluster.node_pools.get(agent.node_pool) if agent.node_pool else None
    pod_spec: dict[str, Any] = {
        "serviceAccountName": AGENT_NAME,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        **polyaxon.pool_scheduling(pool),
    }
    return manifest(
        "apps/v1", "Deployment", AGENT_NAME, target, extra_labels=APP_LABELS,
        spec={
            "replicas": agent.replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**APP_LABELS, **selector}}, "spec": pod_spec},
        },
    )
