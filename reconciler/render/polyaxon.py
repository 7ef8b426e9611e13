"""The Polyaxon agent's configuration, as its own settings code reads it: environment variables.

Names and shapes follow the official agent chart (``agent-cm.yaml``) and the agent's settings
(``polyaxon._schemas.agent.AgentConfig``, ``polyaxon.settings``): the agent loads its configuration only when
``POLYAXON_SET_AGENT`` is true, finds the control plane at ``POLYAXON_HOST`` (localhost otherwise), identifies
itself by ``POLYAXON_AGENT_INSTANCE``, and takes JSON for its artifacts store, other connections and the default
scheduling of runs. The token is not here: it comes from the Secret, under ``POLYAXON_AUTH_TOKEN``.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.config.model import Agent, AgentConnection, NodePool, Target


def environment(agent: Agent, target: Target, host: str | None) -> dict[str, str]:
    """The ConfigMap data the agent container takes as its environment (envFrom); ``host``: the control plane."""
    data = {
        "POLYAXON_SET_AGENT": "true",
        "POLYAXON_K8S_IN_CLUSTER": "true",
        "POLYAXON_K8S_NAMESPACE": target.namespace,
        "POLYAXON_AGENT_INSTANCE": agent.instance,
        "POLYAXON_AGENT_SECRET_NAME": agent.token_secret.name,
        "POLYAXON_AGENT_DEFAULT_SCHEDULING": _json(default_scheduling(agent, target)),
    }
    if host:
        data["POLYAXON_HOST"] = host
    store = agent.artifacts_store
    if store is not None:
        data["POLYAXON_AGENT_ARTIFACTS_STORE"] = _json(connection(store))
    others = [connection(c) for c in agent.connections if c is not store]
    if others:
        data["POLYAXON_AGENT_CONNECTIONS"] = _json(others)
    return data


def connection(spec: AgentConnection) -> dict[str, Any]:
    """A Polyaxon V1Connection: kind is the provider, the Secret or ConfigMap is mounted into runs that use it."""
    reference = {"name": spec.secret or spec.config_map, "mountPath": spec.mount_path}
    result: dict[str, Any] = {"name": spec.name, "kind": spec.provider,
                              ("secret" if spec.secret else "configMap"): reference}
    if spec.schema:
        result["schema"] = dict(sorted(spec.schema.items()))
    return result


def default_scheduling(agent: Agent, target: Target) -> dict[str, Any]:
    """Where runs go unless they ask otherwise: the runs' node pool (by default the agent's own)."""
    pool = target.cluster.node_pools.get(agent.runs_node_pool) if agent.runs_node_pool else None
    return pool_scheduling(pool)


def pool_scheduling(pool: NodePool | None) -> dict[str, Any]:
    if pool is None:
        return {}
    result: dict[str, Any] = {}
    if pool.node_selector:
        result["nodeSelector"] = dict(sorted(pool.node_selector.items()))
    if pool.tolerations:
        result["tolerations"] = [dict(t) for t in pool.tolerations]
    return result


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # built once: json.dumps builds one per call


def _json(value: object) -> str:
    return _ENCODER.encode(value)
