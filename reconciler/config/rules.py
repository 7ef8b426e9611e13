"""Checks on one document or on an environment's merged settings that the schemas cannot express.

Each function returns the errors it finds; the resolver decides which documents to check. Identical errors found
through several environments (a profile's problem) collapse into one when they are reported.
"""

from __future__ import annotations

from typing import Any

from reconciler.config.located import Document, LocatedDict, LocatedList
from reconciler.config.merge import identity
from reconciler.config.model import ENVIRONMENT_LABEL, MANAGED_BY_LABEL, RESERVED_NAMESPACES, Platform
from reconciler.errors import ConfigError, Location

RECONCILER_LABEL_PREFIX = ENVIRONMENT_LABEL.split("/")[0] + "/"


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


def reserved_labels(document: Document) -> list[ConfigError]:
    labels = document.body["spec"].get("labels", {})
    return [
        ConfigError(labels.where(label), f"spec.labels.{label}", "this label is set by the reconciler itself; "
                    "choose another key")
        for label in labels if label == MANAGED_BY_LABEL or label.startswith(RECONCILER_LABEL_PREFIX)
    ]


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
