"""Checks on one document or on an environment's merged settings that the schemas cannot express.

Each function returns the errors it finds; the resolver decides which documents to check. Identical errors found
through several environments (a profile's problem) collapse into one when they are reported.
"""

from __future__ import annotations

from typing import Any

from reconciler.config.guardrails import Guardrails
from reconciler.config.located import Document, LocatedDict, LocatedList
from reconciler.config.merge import identity
from reconciler.config.model import (
    DEFAULT_POD_SECURITY,
    ENVIRONMENT_LABEL,
    MANAGED_BY_LABEL,
    POD_SECURITY_LABEL,
    RESERVED_NAMESPACES,
    Platform,
    Team,
)
from reconciler.errors import ConfigError, Location

RECONCILER_LABEL_PREFIX = ENVIRONMENT_LABEL.split("/")[0] + "/"
KUBERNETES_DOMAINS = ("kubernetes.io", "k8s.io")  # and every subdomain, such as app.kubernetes.io


def origin(items: list[Any], index: int) -> int:
    """The index of an item in the list of the document that wrote it (merged lists mix documents)."""
    return items.origin(index) if isinstance(items, LocatedList) else index


def mount_path(connection: dict[str, Any]) -> str:
    """Where the agent finds a connection: its ``mountPath``, else ``/etc/connections/<name>``."""
    ref = connection.get("secret") or connection.get("configMap") or {}
    path: str = ref.get("mountPath", f"/etc/connections/{connection['name']}")
    return path


def duplicate_entries(document: Document) -> list[ConfigError]:
    """Items of a named list must be distinct within one document; across documents they merge by identity."""
    spec = document.body["spec"]
    agent = spec.get("agent", {})
    lists = [("access", spec.get("access", [])), ("queues", agent.get("queues", [])),
             ("connections", agent.get("connections", []))]
    errors = []
    for key, items in lists:
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            ident = identity(key, item)
            if ident not in seen:
                seen[ident] = index
                continue
            first = items.where(seen[ident]).line if isinstance(items, LocatedList) else 0
            where = items.where(index) if isinstance(items, LocatedList) else document.location
            field = f"spec.{'agent.' if key != 'access' else ''}{key}[{index}]"
            errors.append(ConfigError(where, field, f"{_subject(key, ident)} is listed twice (first on line "
                                      f"{first}); keep one entry"))
    return errors


def reserved_key(key: str) -> str | None:
    """Why a label or annotation key may not come from git, or None when it may.

    Keys are compared as Kubernetes and people read them: without surrounding blanks and in lower case, so
    ``Kubernetes.io/x`` is refused like ``kubernetes.io/x``."""
    normal = key.strip().lower()
    prefix = normal.split("/", 1)[0] if "/" in normal else ""
    if normal == MANAGED_BY_LABEL or prefix == RECONCILER_LABEL_PREFIX.rstrip("/"):
        return "is set by the reconciler itself; choose another key"
    if prefix == POD_SECURITY_LABEL.rstrip("/"):
        return ("is the namespace's Pod Security level, which git sets only through `podSecurity: "
                "restricted|baseline|privileged`; set that instead")
    if any(prefix == domain or prefix.endswith("." + domain) for domain in KUBERNETES_DOMAINS):
        return (f"uses the prefix {prefix + '/'!r}, reserved for Kubernetes (its meaning is Kubernetes' own, e.g. "
                "admission or scheduling); use a prefix of your own, such as example.com/")
    return None


def reserved_labels(document: Document) -> list[ConfigError]:
    """Every label and annotation git puts on objects: keys of Kubernetes and of the reconciler are refused."""
    spec = document.body["spec"]
    errors = []
    for item in ("labels", "annotations"):
        mapping = spec.get(item, {})
        for key in mapping:
            why = reserved_key(key)
            if why is not None:
                errors.append(ConfigError(mapping.where(key), f"spec.{item}.{key}", f"this {item[:-1]} {why}"))
    return errors


def pod_security(settings: LocatedDict, where: Location, guardrails: Guardrails) -> list[ConfigError]:
    """The Pod Security level an environment enforces must be one the installation allows."""
    level = settings.get("podSecurity", DEFAULT_POD_SECURITY)
    if level in guardrails.pod_security_levels:
        return []
    allowed = ", ".join(sorted(guardrails.pod_security_levels))
    given = "podSecurity" in settings
    return [ConfigError(settings.where("podSecurity") if given else where, "spec.podSecurity",
                        f"Pod Security level {level!r}{'' if given else ' (the default)'} is not allowed by the "
                        f"installation's guardrails ({guardrails.source}: {allowed}); set podSecurity to one of "
                        "those, or ask the installation's owner to allow it")]


def system_subject(name: str, kind: str) -> str | None:
    """Why a group or user name may not be bound from git, or None when it may.

    Names starting with ``system:`` belong to Kubernetes: they stand for whole classes of requests
    (``system:authenticated`` is everyone who can log in, ``system:unauthenticated`` and ``system:anonymous``
    anyone at all, ``system:masters`` bypasses RBAC) or for its own components. RBAC compares names exactly, but
    a name that differs only in case or blanks is refused too: it can only be a mistake or an attempt."""
    normal = name.strip().lower()
    if not normal.startswith("system:"):
        return None
    parts = normal.split(":")
    if kind == "user" and len(parts) == 4 and parts[1] == "serviceaccount":
        return (f"user {name!r} is the service account {parts[2]}/{parts[3]}; list it under a Team's "
                f"serviceAccounts ({{namespace: {parts[2]}, name: {parts[3]}}}) so its namespace is checked")
    return (f"{kind} {name!r} is a Kubernetes system {kind} (names starting with 'system:' stand for whole classes "
            "of users, such as everyone who can log in or any anonymous request, or for Kubernetes' own "
            f"components); bind people's own {kind}s instead")


def team_subjects(document: Document) -> list[ConfigError]:
    spec = document.body["spec"]
    errors = []
    for item, kind in (("groups", "group"), ("users", "user")):
        names = spec.get(item, [])
        for index, name in enumerate(names):
            why = system_subject(name, kind)
            if why is not None:
                errors.append(ConfigError(names.where(index), f"spec.{item}[{index}]", why))
    return errors


def foreign_service_accounts(team: Team, environment: str, namespaces: set[str], role: str, where: Location,
                             field: str, guardrails: Guardrails) -> list[ConfigError]:
    """A team's service accounts may be bound only where they live: in the environment's own namespace on every
    target (the same name on each cluster), or in a namespace the installation's guardrails allow."""
    errors = []
    for account in team.service_accounts:
        if account.namespace in guardrails.service_account_namespaces or namespaces == {account.namespace}:
            continue
        errors.append(ConfigError(where, field, (
            f"team {team.name!r} names service account {account.namespace}/{account.name} (at "
            f"{account.location or team.location}), outside the namespace of environment {environment!r} "
            f"({', '.join(sorted(namespaces))}): this binding would give another namespace's workloads {role!r} "
            "here. Bind only service accounts of the environment's own namespace, or ask the installation's owner "
            f"to allow namespace {account.namespace!r} (guardrails serviceAccountNamespaces, {guardrails.source})")))
    return errors


def reserved_namespace(target: LocatedDict, index: int, platform: Platform) -> list[ConfigError]:
    """Namespaces of Kubernetes itself and of the ML control plane belong to no environment."""
    cluster, namespace = target["cluster"], target["namespace"]
    field = f"spec.targets[{index}].namespace"
    if namespace in RESERVED_NAMESPACES or namespace.startswith("kube-"):
        return [ConfigError(target.where("namespace"), field, f"namespace {namespace!r} is reserved; choose a "
                            "namespace of the environment's own")]
    if namespace == platform.control_plane_namespace and platform.control_plane_cluster in (None, cluster):
        return [ConfigError(target.where("namespace"), field, f"namespace {namespace!r} on cluster {cluster!r} is "
                            "the ML control plane's (Platform spec.controlPlane); choose a namespace of the "
                            "environment's own")]
    return []


def take_over_itself(document: Document, platform: str) -> list[ConfigError]:
    """``takeOver`` names a previous owner; naming the environment itself would only hide a mistake."""
    owners = document.body["spec"].get("takeOver", [])
    return [
        ConfigError(owners.where(index), f"spec.takeOver[{index}]", f"names environment {document.name!r} of "
                    f"Platform {platform!r}, this environment itself; name the previous owner (the old name after a "
                    "rename, the other environment or Platform after a move)")
        for index, owner in enumerate(owners)
        if owner["environment"] == document.name and owner.get("platform", platform) == platform
    ]


def limits_without_default(limits: LocatedDict) -> list[ConfigError]:
    """Kubernetes defaults a container's limit (and then its request) to ``max`` when ``default`` lacks it: a
    ``max`` of 4 GPUs alone would give every container of the namespace 4 GPUs. The default must be explicit."""
    maximum, default = limits.get("max", {}), limits.get("default", {})
    return [
        ConfigError(maximum.where(resource), f"spec.limits.max.{resource}", f"set limits.default.{resource} as well "
                    "(for GPUs usually 0): without it, Kubernetes makes the max every container's default limit and "
                    "request")
        for resource in maximum if resource not in default
    ]


def incomplete_agent(document: Document, settings: LocatedDict) -> list[ConfigError]:
    """An agent may take its image and token from any parent, but after merging it needs both."""
    agent = settings.get("agent")
    if agent is None or not agent.get("enabled", True):
        return []
    own = document.body["spec"]
    where = document.where("spec", "agent" if "agent" in own else "extends" if "extends" in own else "spec")
    return [
        ConfigError(where, f"spec.agent.{required}", "required field is missing, also after merging extends; set it "
                    "in the environment or in one of its profiles")
        for required in ("image", "tokenSecret") if required not in agent
    ]


def shared_mount_paths(connections: list[Any]) -> list[ConfigError]:
    """Two volumes at one path would make Kubernetes refuse the agent's Deployment."""
    errors = []
    seen: dict[str, Location] = {}
    for index, connection in enumerate(connections):
        path = mount_path(connection)
        kind = "secret" if "secret" in connection else "configMap"
        where: Location = connection[kind].where("mountPath")
        if path in seen:
            errors.append(ConfigError(where, f"spec.agent.connections[{origin(connections, index)}].{kind}.mountPath",
                                      f"{path!r} is already the mount path of another connection (at {seen[path]}); "
                                      "give each connection its own"))
        seen.setdefault(path, where)
    return errors


def _subject(key: str, ident: Any) -> str:
    if key == "access" and isinstance(ident, tuple):
        return f"{ident[0]} {ident[1]!r}"
    return f"{key[:-1]} {ident!r}"
