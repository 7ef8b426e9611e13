"""Resolving one environment from its merged settings: its targets, access, agent, quota and the checks on them."""

from __future__ import annotations

from typing import Any, cast

from reconciler.config import kueue, model, rules, semantics
from reconciler.config.located import Document, LocatedDict
from reconciler.config.resolve_profiles import ProfileResolver
from reconciler.config.resolver_base import suggest

QUOTA_RESOURCES = {
    "cpu": "requests.cpu",
    "memory": "requests.memory",
    "limitsCpu": "limits.cpu",
    "limitsMemory": "limits.memory",
    "gpu": "requests.nvidia.com/gpu",
    "storage": "requests.storage",
    "pods": "pods",
}


def _text(value: Any) -> str:
    return str(value)


class EnvironmentResolver(ProfileResolver):
    def environment(self, document: Document, platform: model.Platform, teams: dict[str, model.Team],
                    clusters: dict[str, model.Cluster]) -> model.Environment:
        spec = document.body["spec"]
        settings = self.settings(document)
        targets = []
        targets_list = spec["targets"]
        for index, target in enumerate(targets_list):
            cluster, namespace = target["cluster"], target["namespace"]
            if cluster not in clusters and self.reportable("Cluster", cluster):
                self.error(target.where("cluster"), f"spec.targets[{index}].cluster",
                           f"unknown cluster {cluster!r}" + suggest(cluster, clusters))
            self.errors.extend(rules.reserved_namespace(target, index, platform))
            targets.append((cluster, namespace))
        access = self.access(settings, platform, teams, (document.name, {namespace for _, namespace in targets}))
        self.errors.extend(rules.limits_without_default(settings.get("limits", LocatedDict(document.location))))
        self.errors.extend(rules.pod_security(settings, document.location, self.guardrails))
        self.errors.extend(rules.take_over_itself(document, platform.name))
        self.errors.extend(semantics.check_settings(settings, self.shared))
        if (document.kind, document.name) not in self.incomplete:
            self.errors.extend(rules.incomplete_agent(document, settings))
        agent = self.agent(document.name, settings, [clusters[c] for c, _ in targets if c in clusters])
        quota = kueue.resolve(settings)
        if kueue.enforces_kueue(platform.quota_enforcement):
            pools = {c: set(clusters[c].node_pools) for c, _ in targets if c in clusters}
            self.errors.extend(kueue.queue_errors(document.name, settings, quota, pools))
        return model.Environment(
            name=document.name,
            protected=bool(spec.get("protected", False)),
            on_remove=spec.get("onRemove", "orphan"),
            adopt=bool(spec.get("adopt", False)),
            quota=_quota(settings.get("quota", {})),
            limits=self.shared.of(_texts, settings.get("limits", _NONE)),
            network=settings.get("network", "isolated"),
            access=access,
            agent=agent,
            labels=dict(settings.get("labels", {})),
            targets=tuple(targets),
            location=document.location,
            pod_security=settings.get("podSecurity", model.DEFAULT_POD_SECURITY),
            take_over=tuple(model.Owner(owner["environment"], owner.get("platform", platform.name))
                            for owner in spec.get("takeOver", ())),
            kueue=quota,
        )

    def access(self, settings: LocatedDict, platform: model.Platform, teams: dict[str, model.Team],
               environment: tuple[str, set[str]]) -> tuple[model.Access, ...]:
        """The environment's bindings; ``environment`` is its name and the namespaces of its targets."""
        entries = settings.get("access", [])
        result = []
        for index, entry in enumerate(entries):
            field = f"spec.access[{rules.origin(entries, index)}]"
            subject: str = "team" if "team" in entry else "user"
            name = entry[subject]
            if subject == "team" and name not in teams and self.reportable("Team", name):
                self.error(entry.where("team"), f"{field}.team", f"unknown team {name!r}" + suggest(name, teams))
            if subject == "team" and name in teams:
                self.errors.extend(rules.foreign_service_accounts(
                    teams[name], environment[0], environment[1], entry["role"], entry.where("team"), f"{field}.team",
                    self.guardrails))
            why = rules.system_subject(name, "user") if subject == "user" else None
            if why is not None:
                self.error(entry.where("user"), f"{field}.user", why)
            if entry["role"] not in platform.allowed_cluster_roles:
                allowed = ", ".join(platform.allowed_cluster_roles)
                self.error(entry.where("role"), f"{field}.role",
                           f"role {entry['role']!r} is not allowed by the Platform (allowedClusterRoles: {allowed}); "
                           "git may grant only allow-listed ClusterRoles")
            result.append(model.Access(cast(Any, subject), name, entry["role"]))
        return tuple(sorted(result, key=lambda a: (a.subject, a.name)))

    def agent(self, environment: str, settings: LocatedDict, clusters: list[model.Cluster]) -> model.Agent | None:
        spec = settings.get("agent")
        if spec is None or not spec.get("enabled", True):
            return None
        queues = spec.get("queues", [])
        pools = [(spec, "spec.agent.nodePool"), (spec, "spec.agent.runsNodePool")] + [
            (queue, f"spec.agent.queues[{rules.origin(queues, i)}].nodePool") for i, queue in enumerate(queues)
        ]
        for holder, field in pools:
            key = field.rsplit(".", 1)[1]
            pool = holder.get(key)
            for cluster in clusters:
                # Once per place and cluster: a profile's queue is reported once, not once per environment.
                if pool is not None and pool not in cluster.node_pools and self.first(holder.where(key),
                                                                                       cluster.name):
                    self.error(holder.where(key), field, f"node pool {pool!r} is not defined on cluster "
                               f"{cluster.name!r}, a target of environment {environment!r}"
                               + suggest(pool, cluster.node_pools))
        self.errors.extend(rules.shared_mount_paths(spec.get("connections", [])))
        token = spec.get("tokenSecret", {"name": "missing"})
        return model.Agent(
            image=spec.get("image", ""),
            replicas=spec.get("replicas", 1),
            resources=self.shared.of(_texts, spec.get("resources", _NONE)),
            node_pool=spec.get("nodePool"),
            token_secret=self.shared.of(_token, token),
            instance=spec.get("instance", ""),
            runs_node_pool=spec.get("runsNodePool", spec.get("nodePool")),
            queues=tuple(self.shared.of(_queue, q) for q in spec.get("queues", ())),
            connections=self.shared.of(_connections, spec.get("connections", ())),
        )


_NONE: dict[str, Any] = {}  # an unset mapping; never changed


def _texts(values: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Quantities by resource by entry (limits, requests), as text."""
    return {k: {r: _text(q) for r, q in v.items()} for k, v in values.items()}


def _token(spec: dict[str, Any]) -> model.SecretKeyRef:
    return model.SecretKeyRef(spec["name"], model.AGENT_TOKEN_KEY)


def _queue(spec: dict[str, Any]) -> model.Queue:
    return model.Queue(spec["name"], spec.get("concurrency", 1), spec.get("priority", 0), spec.get("nodePool"))


def _connections(specs: list[dict[str, Any]]) -> tuple[model.AgentConnection, ...]:
    return tuple(_connection(spec) for spec in specs)


def _quota(spec: dict[str, Any]) -> dict[str, str]:
    hard = {QUOTA_RESOURCES[key]: _text(value) for key, value in spec.items() if key in QUOTA_RESOURCES}
    for resource, count in spec.get("objects", {}).items():
        hard[f"count/{resource}"] = _text(count)
    return dict(sorted(hard.items()))


def _connection(spec: dict[str, Any]) -> model.AgentConnection:
    return model.AgentConnection(
        name=spec["name"],
        kind=spec["kind"],
        secret=spec["secret"]["name"] if "secret" in spec else None,
        config_map=spec["configMap"]["name"] if "configMap" in spec else None,
        mount_path=rules.mount_path(spec),
        provider=spec.get("provider", "custom"),
        schema=dict(spec.get("schema", {})),
    )
