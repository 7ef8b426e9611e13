"""The environment's ML agent: confined to its namespace, configured with its queues and node scheduling.

The agent reaches the control plane only through its queues; it gets a ServiceAccount whose Role grants what an
agent needs to run ML jobs, and nothing outside its own namespace. Its token comes from a Secret that already
exists in the namespace (never from git).
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.config.model import AGENT_CONFIG_PATH, Agent, Cluster, NodePool, Target
from reconciler.render.objects import Manifest, manifest

AGENT_NAME = "ml-agent"
CONFIG_NAME = "ml-agent-config"
CONFIG_PATH = AGENT_CONFIG_PATH
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


def scheduling(pool: NodePool | None) -> dict[str, Any]:
    if pool is None:
        return {}
    result: dict[str, Any] = {}
    if pool.node_selector:
        result["nodeSelector"] = dict(sorted(pool.node_selector.items()))
    if pool.tolerations:
        result["tolerations"] = [dict(t) for t in pool.tolerations]
    return result


def agent_config(agent: Agent, target: Target) -> dict[str, Any]:
    """The agent's view of its environment: queues, where each queue's jobs run, and its connections."""
    cluster: Cluster = target.cluster
    return {
        "environment": target.environment.name,
        "namespace": target.namespace,
        "cluster": cluster.name,
        "queues": [
            {
                "name": queue.name,
                "concurrency": queue.concurrency,
                "priority": queue.priority,
                "nodePool": queue.node_pool,
                "gpu": bool(queue.node_pool and cluster.node_pools[queue.node_pool].gpu),
                **scheduling(cluster.node_pools.get(queue.node_pool) if queue.node_pool else None),
            }
            for queue in sorted(agent.queues, key=lambda q: (-q.priority, q.name))
        ],
        "connections": [
            {"name": c.name, "kind": c.kind, "mountPath": c.mount_path,
             **({"secret": c.secret} if c.secret else {"configMap": c.config_map})}
            for c in agent.connections
        ],
    }


def render(target: Target) -> list[Manifest]:
    agent = target.environment.agent
    if agent is None:
        return []
    config = agent_config(agent, target)
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
                 data={"agent.json": json.dumps(config, indent=2, sort_keys=True) + "\n"}),
        _deployment(agent, target),
    ]


def _deployment(agent: Agent, target: Target) -> Manifest:
    selector = {"app.kubernetes.io/name": AGENT_NAME, "reconciler/environment": target.environment.name}
    volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": CONFIG_NAME}}]
    mounts: list[dict[str, Any]] = [{"name": "config", "mountPath": CONFIG_PATH, "readOnly": True}]
    for connection in agent.connections:
        volume = f"conn-{connection.name}"
        source = ({"secret": {"secretName": connection.secret}} if connection.secret
                  else {"configMap": {"name": connection.config_map}})
        volumes.append({"name": volume, **source})
        mounts.append({"name": volume, "mountPath": connection.mount_path, "readOnly": True})
    container: dict[str, Any] = {
        "name": "agent",
        "image": agent.image,
        "args": ["--config", f"{CONFIG_PATH}/agent.json"],
        "env": [
            {"name": "POLYAXON_AGENT_TOKEN",
             "valueFrom": {"secretKeyRef": {"name": agent.token_secret.name, "key": agent.token_secret.key}}},
            {"name": "POLYAXON_K8S_NAMESPACE", "value": target.namespace},
        ],
        "volumeMounts": mounts,
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
        "volumes": volumes,
        **scheduling(pool),
    }
    return manifest(
        "apps/v1", "Deployment", AGENT_NAME, target, extra_labels=APP_LABELS,
        spec={
            "replicas": agent.replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**APP_LABELS, **selector}}, "spec": pod_spec},
        },
    )
