"""The environment's ML agent, a Polyaxon agent confined to its namespace.

It gets a ServiceAccount bound, in its own namespace only, to the installation's agent ClusterRole, which grants
what an agent needs to run ML jobs; a ConfigMap with the environment Polyaxon's settings code reads (``polyaxon.py``);
and a Deployment that starts it as the official chart does (``args: ["start"]``), on its node pool, with its token
from a Secret that already exists in the namespace (never from git). Queues are objects of the control plane, not of
the agent: nothing here renders them (docs/topologies.md says where they go).
"""

from __future__ import annotations

from typing import Any

from reconciler.config.model import AGENT_OWN_MOUNT, Agent, Platform, Target
from reconciler.render import polyaxon
from reconciler.render.objects import Manifest, manifest

AGENT_NAME = "ml-agent"
CONFIG_NAME = "ml-agent-config"
APP_LABELS = {"app.kubernetes.io/name": AGENT_NAME, "app.kubernetes.io/component": "agent"}

# What an ML agent may do is defined once, by the installation, as the ClusterRole named here (deploy/agent-role.yaml),
# and granted in each environment's namespace only, by a RoleBinding. The reconciler therefore writes no Role: it
# needs neither `escalate` nor the agent's rights itself, only `bind` on this one ClusterRole. The binding has a name
# of its own because a RoleBinding's roleRef cannot change: the Role and RoleBinding `ml-agent` of older releases
# leave the desired set and are pruned like any other object the reconciler owns.
AGENT_CLUSTER_ROLE = "reconciler-ml-agent"
AGENT_BINDING = AGENT_CLUSTER_ROLE

# Parts of the agent's objects that are the same for every target: one object shared by the manifests of all
# targets instead of one per target (a tenth of the memory of 10,000 rendered environments). Rendered objects are
# values that nothing changes (the write path copies one before it edits it), and each part appears once among a
# target's objects, so a copy of one target's objects still shares nothing with another's.
_ROLE_REF = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": AGENT_CLUSTER_ROLE}
_ARGS = ["start"]
_ENV_FROM = [{"configMapRef": {"name": CONFIG_NAME}}]
# The root filesystem is read-only; Polyaxon keeps its temporary configuration and home under /tmp.
_MOUNTS = [{"name": "tmp", "mountPath": AGENT_OWN_MOUNT}]
_CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}}
_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
_VOLUMES = [{"name": "tmp", "emptyDir": {}}]


def render(target: Target, platform: Platform) -> list[Manifest]:
    agent = target.environment.agent
    if agent is None:
        return []
    return [
        manifest("v1", "ServiceAccount", AGENT_NAME, target, extra_labels=APP_LABELS),
        manifest(
            "rbac.authorization.k8s.io/v1", "RoleBinding", AGENT_BINDING, target, extra_labels=APP_LABELS,
            roleRef=_ROLE_REF,
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
        "args": _ARGS,
        "envFrom": _ENV_FROM,
        "env": [{"name": token.key, "valueFrom": {"secretKeyRef": {"name": token.name, "key": token.key}}}],
        "volumeMounts": _MOUNTS,
        "securityContext": _CONTAINER_SECURITY,
    }
    if agent.resources:
        container["resources"] = {k: dict(sorted(v.items())) for k, v in sorted(agent.resources.items())}
    pool = target.cluster.node_pools.get(agent.node_pool) if agent.node_pool else None
    pod_spec: dict[str, Any] = {
        "serviceAccountName": AGENT_NAME,
        "securityContext": _POD_SECURITY,
        "containers": [container],
        "volumes": _VOLUMES,
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
