"""The installation's guardrails: the most that git may ask for, set outside the environments repository.

Whoever installs the reconciler decides which ClusterRoles git may bind, whose service accounts it may name and which
Pod Security levels it may choose. The same values are the params of the admission policies in ``deploy/``, so the
API server enforces them on the reconciler's own credential, and the reconciler reads them at start to refuse a
revision that asks for more before it writes anything. The repository's Platform may only narrow them.

The guardrails are a ConfigMap (``reconciler-system/reconciler-guardrails`` on an installation; any file for the
command line) whose ``data`` holds lists, one item per line or separated by commas or spaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from reconciler.errors import ReconcilerError

CONFIGMAP_NAMESPACE = "reconciler-system"
CONFIGMAP_NAME = "reconciler-guardrails"
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
KEYS = ("allowedClusterRoles", "serviceAccountNamespaces", "podSecurityLevels")


class GuardrailsError(ReconcilerError):
    """The guardrails could not be read or say something impossible; the message names the source and key."""


@dataclass(frozen=True)
class Guardrails:
    """What git may use at most. The defaults are those of an installation made with ``deploy/`` unchanged."""

    # ClusterRoles a RoleBinding from git may reference.
    cluster_roles: frozenset[str] = frozenset({"view", "edit", "admin"})
    # Namespaces, other than the environment's own, whose service accounts a Team may name.
    service_account_namespaces: frozenset[str] = frozenset()
    # Pod Security levels an environment may enforce; "privileged" only where the installation allows it.
    pod_security_levels: frozenset[str] = frozenset({"baseline", "restricted"})
    # Where these values came from, for messages ("built-in defaults", a file, a cluster's ConfigMap).
    source: str = "built-in defaults"


DEFAULT = Guardrails()


def _items(text: str) -> frozenset[str]:
    return frozenset(item for item in re.split(r"[\s,]+", text) if item)


def from_data(data: Mapping[str, str], source: str) -> Guardrails:
    """Guardrails from a ConfigMap's ``data``; a key that is absent keeps its default."""
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise GuardrailsError(f"{source}: unknown key {unknown[0]!r} in the guardrails; known keys: {', '.join(KEYS)}")
    levels = _items(data["podSecurityLevels"]) if "podSecurityLevels" in data else DEFAULT.pod_security_levels
    wrong = sorted(levels - set(POD_SECURITY_LEVELS))
    if wrong:
        raise GuardrailsError(f"{source}: podSecurityLevels: {wrong[0]!r} is not a Pod Security level; use "
                              f"{', '.join(POD_SECURITY_LEVELS)}")
    roles = _items(data["allowedClusterRoles"]) if "allowedClusterRoles" in data else DEFAULT.cluster_roles
    if "*" in roles:
        raise GuardrailsError(f"{source}: allowedClusterRoles: a wildcard is not a role; list each ClusterRole")
    return Guardrails(
        cluster_roles=roles,
        service_account_namespaces=_items(data.get("serviceAccountNamespaces", "")),
        pod_security_levels=levels,
        source=source,
    )


def load_file(path: Path) -> Guardrails:
    """Guardrails from a ConfigMap manifest on disk (the same file ``deploy/`` installs)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GuardrailsError(f"{path}: cannot read the guardrails: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise GuardrailsError(f"{path}: the guardrails are not valid YAML: {error}") from error
    if not isinstance(document, dict) or document.get("kind") != "ConfigMap":
        raise GuardrailsError(f"{path}: the guardrails must be a ConfigMap (kind: ConfigMap, data: ...)")
    data = document.get("data") or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise GuardrailsError(f"{path}: data: every value must be a string")
    return from_data(data, str(path))


def combine(first: Guardrails, *others: Guardrails) -> Guardrails:
    """The intersection: what every given installation allows. One revision is validated once and written to every
    cluster, whose admission policy holds the reconciler to that cluster's guardrails; only what all of them allow
    can converge everywhere, so the revision is refused up front rather than half-applied."""
    every = (first, *others)
    sources = list(dict.fromkeys(g.source for g in every))
    return Guardrails(
        cluster_roles=frozenset.intersection(*(g.cluster_roles for g in every)),
        service_account_namespaces=frozenset.intersection(*(g.service_account_namespaces for g in every)),
        pod_security_levels=frozenset.intersection(*(g.pod_security_levels for g in every)),
        source=sources[0] if len(sources) == 1 else "the intersection of " + "; ".join(sources),
    )


def same_limits(one: Guardrails, other: Guardrails) -> bool:
    """Whether two guardrails allow the same, wherever they came from."""
    return (one.cluster_roles, one.service_account_namespaces, one.pod_security_levels) == (
        other.cluster_roles, other.service_account_namespaces, other.pod_security_levels)
