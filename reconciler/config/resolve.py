"""Schema-valid documents -> a resolved :class:`Landscape`, or every reference error found on the way.

Profiles and ``extends`` merge in the order listed (see :mod:`reconciler.config.merge`); an environment's own
values win. ``targets``, ``protected``, ``onRemove``, ``adopt`` and ``takeOver`` describe one environment and are
never inherited. Each target becomes one :class:`Target`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, cast

from reconciler.config import agent_rules, kueue, model, rules, semantics
from reconciler.config.guardrails import DEFAULT as DEFAULT_GUARDRAILS
from reconciler.config.guardrails import Guardrails
from reconciler.config.located import Document, LocatedDict, LocatedList, location_of
from reconciler.config.merge import merge
from reconciler.errors import ConfigError, Location

NOT_INHERITED = frozenset({"extends", "targets", "protected", "onRemove", "adopt", "takeOver"})
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


class _Resolver:
    def __init__(self, documents: Iterable[Document], broken: set[tuple[str, str]], all_read: bool,
                 guardrails: Guardrails = DEFAULT_GUARDRAILS) -> None:
        self.guardrails = guardrails
        self.broken = broken
        self.all_read = all_read
        self.errors: list[ConfigError] = []
        # Profiles and environments that extend a document with schema errors: what they lack after merging is
        # a consequence of that error, reported once at its source.
        self.incomplete: set[tuple[str, str]] = set()
        self.reported: set[tuple[Location, str]] = set()
        self.by_kind: dict[str, dict[str, Document]] = {}
        for document in documents:
            seen = self.by_kind.setdefault(document.kind, {})
            if document.name in seen:
                first = seen[document.name].where("metadata", "name")
                self.errors.append(ConfigError(document.where("metadata", "name"), "metadata.name",
                                               f"duplicate {document.kind} {document.name!r} (first defined at "
                                               f"{first}); names of a kind must be unique"))
                continue
            seen[document.name] = document
        self.settings_cache: dict[tuple[str, str], LocatedDict] = {}

    def error(self, where: Location, field: str, message: str) -> None:
        self.errors.append(ConfigError(where, field, message))

    def reportable(self, kind: str, name: str, *other_kinds: str) -> bool:
        """Whether a reference to a missing document is worth reporting: not when the document exists but has
        errors of its own, nor when some file could not be read (the document may be in it)."""
        return self.all_read and not any((k, name) in self.broken for k in (kind, *other_kinds))

    def first(self, where: Location, topic: str) -> bool:
        """True the first time a problem about ``topic`` is found at ``where``."""
        if (where, topic) in self.reported:
            return False
        self.reported.add((where, topic))
        return True

    def named(self, kind: str) -> dict[str, Document]:
        return self.by_kind.get(kind, {})

    # -- platform, clusters, teams -------------------------------------------------------------------------------

    def platform(self) -> model.Platform:
        platforms = list(self.named("Platform").values())
        for extra in platforms[1:]:
            self.error(extra.location, "kind", f"a repository has one Platform; {platforms[0].name!r} is defined at "
                       f"{platforms[0].location}")
        if not platforms:
            return model.Platform(name="default", allowed_cluster_roles=self.installed_roles())
        document = platforms[0]
        spec = document.body.get("spec", {})
        control = spec.get("controlPlane", {})
        risk = spec.get("risk", {})
        windows = tuple(
            model.ChangeWindow(
                environments=tuple(w["environments"]),
                days=tuple(w.get("days", ())),
                start=w.get("start"),
                end=w.get("end"),
                freezes=tuple((f["from"], f["to"], f.get("reason", "")) for f in w.get("freeze", ())),
            )
            for w in spec.get("changeWindows", ())
        )
        return model.Platform(
            name=document.name,
            allowed_cluster_roles=self.allowed_cluster_roles(document),
            control_plane_namespace=control.get("namespace"),
            control_plane_cluster=control.get("cluster"),
            control_plane_host=control.get("host"),
            mass_delete_percent=spec.get("massDeletePercent", model.DEFAULT_MASS_DELETE_PERCENT),
            risk_rules=dict(risk.get("rules", {})),
            risk_by_environment={k: dict(v) for k, v in risk.get("environments", {}).items()},
            change_windows=windows,
            location=document.location,
            quota_enforcement=spec.get("quotaEnforcement", "ResourceQuota"),
        )

    def installed_roles(self) -> tuple[str, ...]:
        """Without an allow-list of its own, a repository may use every role the guardrails allow."""
        installed = self.guardrails.cluster_roles
        usual = tuple(role for role in model.DEFAULT_ALLOWED_CLUSTER_ROLES if role in installed)
        return usual + tuple(sorted(installed - set(usual)))

    def allowed_cluster_roles(self, document: Document) -> tuple[str, ...]:
        """The Platform's allow-list, which may only narrow the installation's guardrails."""
        installed = self.guardrails.cluster_roles
        listed = document.body["spec"].get("allowedClusterRoles")
        if listed is None:
            return self.installed_roles()
        for index, role in enumerate(listed):
            if role not in installed:
                self.error(listed.where(index), f"spec.allowedClusterRoles[{index}]",
                           f"ClusterRole {role!r} is not allowed by the installation's guardrails "
                           f"({self.guardrails.source}: {', '.join(sorted(installed))}); the repository may only "
                           "narrow them. Remove it, or ask the installation's owner to allow it")
        return tuple(role for role in listed if role in installed)

    def clusters(self) -> dict[str, model.Cluster]:
        clusters = {}
        for name, document in sorted(self.named("Cluster").items()):
            spec = document.body["spec"]
            connection = spec["connection"]
            secret = connection.get("kubeconfigSecret")
            pools = {
                pool: model.NodePool(
                    name=pool,
                    node_selector=dict(settings.get("nodeSelector", {})),
                    tolerations=tuple(dict(t) for t in settings.get("tolerations", ())),
                    gpu=bool(settings.get("gpu", False)),
                )
                for pool, settings in sorted(spec.get("nodePools", {}).items())
            }
            clusters[name] = model.Cluster(
                name=name,
                connection=model.ClusterConnection(
                    context=connection.get("context"),
                    in_cluster=bool(connection.get("inCluster", False)),
                    kubeconfig_secret=model.KubeconfigSecret(
                        secret["namespace"], secret["name"], secret.get("key", "kubeconfig"), secret.get("context")
                    ) if secret else None,
                    context_location=location_of(document.body, ("spec", "connection", "context")),
                ),
                node_pools=pools,
                location=document.location,
            )
        return clusters

    def teams(self) -> dict[str, model.Team]:
        teams = {}
        for name, document in sorted(self.named("Team").items()):
            spec = document.body["spec"]
            self.errors.extend(rules.team_subjects(document))
            accounts = spec.get("serviceAccounts", LocatedList(document.location))
            teams[name] = model.Team(
                name=name,
                groups=tuple(spec.get("groups", ())),
                users=tuple(spec.get("users", ())),
                service_accounts=tuple(
                    model.ServiceAccountRef(sa["namespace"], sa["name"], accounts.where(index))
                    for index, sa in enumerate(accounts)
                ),
                location=document.location,
            )
        return teams

    # -- extends ---------------------------------------------------------------------------------------------------

    def parent(self, name: str) -> Document | None:
        profile = self.named("Profile").get(name)
        return profile if profile is not None else self.named("Environment").get(name)

    def settings(self, document: Document, chain: tuple[str, ...] = ()) -> LocatedDict:
        """The merged, inheritable settings of a profile or environment (its own values last)."""
        key = (document.kind, document.name)
        if key in self.settings_cache:
            return self.settings_cache[key]
        spec: LocatedDict = document.body["spec"]
        self.errors.extend(rules.duplicate_entries(document) + rules.reserved_labels(document))
        merged = LocatedDict(spec.location)
        extends = spec.get("extends", LocatedList(spec.location))
        for index, parent_name in enumerate(extends):
            where = extends.where(index) if isinstance(extends, LocatedList) else spec.location
            field = f"spec.extends[{index}]"
            if parent_name in chain or parent_name == document.name:
                cycle = " -> ".join((*chain, document.name, parent_name))
                self.error(where, field, f"extends forms a cycle ({cycle}); remove one of the links")
                self.incomplete.add(key)
                continue
            parent = self.parent(parent_name)
            if parent is None and not self.reportable("Profile", parent_name, "Environment"):
                self.incomplete.add(key)
                continue
            if parent is None:
                self.error(where, field, f"unknown profile or environment {parent_name!r}"
                           + _suggest(parent_name, [*self.named("Profile"), *self.named("Environment")]))
                self.incomplete.add(key)
                continue
            if parent_name in self.named("Profile") and parent_name in self.named("Environment"):
                self.error(where, field, f"{parent_name!r} is both a Profile and an Environment; rename one")
            merged = cast(LocatedDict, merge(merged, self.settings(parent, (*chain, document.name))))
            if (parent.kind, parent.name) in self.incomplete:
                self.incomplete.add(key)
        own = LocatedDict(spec.location)
        for item, value in spec.items():
            if item not in NOT_INHERITED:
                own[item] = value
                own.key_locations[item] = spec.where(item)
        merged = cast(LocatedDict, merge(merged, own))
        self.settings_cache[key] = merged
        return merged

    # -- environments ------------------------------------------------------------------------------------------------

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
                           f"unknown cluster {cluster!r}" + _suggest(cluster, clusters))
            self.errors.extend(rules.reserved_namespace(target, index, platform))
            targets.append((cluster, namespace))
        access = self.access(settings, platform, teams, (document.name, {namespace for _, namespace in targets}))
        self.errors.extend(rules.limits_without_default(settings.get("limits", LocatedDict(document.location))))
        self.errors.extend(rules.pod_security(settings, document.location, self.guardrails))
        self.errors.extend(rules.take_over_itself(document, platform.name))
        self.errors.extend(semantics.check_settings(settings))
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
            limits={k: {r: _text(q) for r, q in v.items()} for k, v in settings.get("limits", {}).items()},
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
                self.error(entry.where("team"), f"{field}.team", f"unknown team {name!r}" + _suggest(name, teams))
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
                               + _suggest(pool, cluster.node_pools))
        self.errors.extend(rules.shared_mount_paths(spec.get("connections", [])))
        token = spec.get("tokenSecret", {"name": "missing"})
        return model.Agent(
            image=spec.get("image", ""),
            replicas=spec.get("replicas", 1),
            resources={k: {r: _text(q) for r, q in v.items()} for k, v in spec.get("resources", {}).items()},
            node_pool=spec.get("nodePool"),
            token_secret=model.SecretKeyRef(token["name"], model.AGENT_TOKEN_KEY),
            instance=spec.get("instance", ""),
            runs_node_pool=spec.get("runsNodePool", spec.get("nodePool")),
            queues=tuple(
                model.Queue(q["name"], q.get("concurrency", 1), q.get("priority", 0), q.get("nodePool"))
                for q in spec.get("queues", [])
            ),
            connections=tuple(_connection(c) for c in spec.get("connections", [])),
        )

    def landscape(self, files: int) -> model.Landscape:
        platform = self.platform()
        clusters = self.clusters()
        teams = self.teams()
        cluster = platform.control_plane_cluster
        if cluster and cluster not in clusters and self.reportable("Cluster", cluster):
            document = self.named("Platform")[platform.name]
            self.error(document.where("spec", "controlPlane", "cluster"), "spec.controlPlane.cluster",
                       f"unknown cluster {cluster!r}" + _suggest(cluster, clusters))
        for profile in self.named("Profile").values():
            self.settings(profile)
        environments = {}
        claimed: dict[tuple[str, str], tuple[str, Location]] = {}
        targets = []
        instances: dict[str, tuple[str, Location]] = {}
        for name, document in sorted(self.named("Environment").items()):
            environment = self.environment(document, platform, teams, clusters)
            environments[name] = environment
            if (document.kind, document.name) not in self.incomplete:
                self.errors.extend(agent_rules.check(document, self.settings(document), instances))
            for index, key in enumerate(environment.targets):
                where = document.where("spec", "targets", index)
                if key in claimed:
                    other, first = claimed[key]
                    self.error(where, f"spec.targets[{index}]", f"cluster {key[0]!r} namespace {key[1]!r} is "
                               f"already claimed by environment {other!r} at {first}; each namespace belongs to "
                               "one environment")
                    continue
                claimed[key] = (name, where)
                if key[0] in clusters:
                    targets.append(model.Target(environment, clusters[key[0]], key[1], platform.name))
        if kueue.enforces_kueue(platform.quota_enforcement):
            self.errors.extend(kueue.cohort_errors(
                {name: e.kueue for name, e in environments.items() if e.kueue is not None}))
        for env_name in platform.risk_by_environment:
            if env_name not in environments and self.reportable("Environment", env_name):
                document = self.named("Platform")[platform.name]
                self.error(document.where("spec", "risk", "environments", env_name),
                           f"spec.risk.environments.{env_name}",
                           f"unknown environment {env_name!r}" + _suggest(env_name, environments))
        return model.Landscape(
            platform=platform,
            clusters=clusters,
            teams=teams,
            environments=environments,
            targets=tuple(targets),
            files=files,
            guardrails=self.guardrails,
            profiles=tuple(sorted(self.named("Profile"))),
        )


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


def _suggest(name: str, known: Iterable[str]) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; known: {', '.join(names)}" if names else "; none is defined"


def resolve(documents: list[Document], files: int = 0, broken: set[tuple[str, str]] | None = None,
            all_read: bool = True, guardrails: Guardrails = DEFAULT_GUARDRAILS,
            ) -> tuple[model.Landscape, list[ConfigError]]:
    """Resolve schema-valid documents; the landscape is meaningful only when no errors are returned.

    ``broken`` names documents that failed schema validation: references to them are not reported again.
    ``all_read`` is false when some file or document could not be read: references to unknown names are then
    not reported, since the names may be defined there.
    """
    resolver = _Resolver(documents, broken or set(), all_read, guardrails)
    landscape = resolver.landscape(files)
    return landscape, resolver.errors
