"""Before binding: a ClusterRole that a RoleBinding from git references is checked as the cluster holds it now.

The guardrails name the ClusterRoles git may bind, but a name is not a set of rights: whoever can edit `view` on
one cluster can make every binding to it grant more. A role that holds `escalate`, `bind`, `impersonate` or a
wildcard would let its holders widen their own access, so every target that binds it is refused, naming the rule.
Pure: the roles are read with the rest of the cluster by ``reconciler.kube.live``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from reconciler.plan.changes import TargetPlan

DANGEROUS_VERBS = ("escalate", "bind", "impersonate")
# Kubernetes' own edit and admin roles hold `impersonate` on serviceaccounts: bound by a RoleBinding it reaches only
# the ServiceAccounts of that one namespace, so it is the one use of `impersonate` that stays inside the namespace.
NAMESPACED_IMPERSONATION = frozenset({"serviceaccounts"})

Object = dict[str, Any]


def why_dangerous(rule: Mapping[str, Any]) -> str | None:
    """What makes one PolicyRule dangerous, or None."""
    verbs, resources = set(rule.get("verbs", [])), set(rule.get("resources", []))
    for field in ("verbs", "resources", "apiGroups", "nonResourceURLs", "resourceNames"):
        if any("*" in value for value in rule.get(field, [])):
            return f"a wildcard in {field}"
    held = sorted(verbs & set(DANGEROUS_VERBS))
    if held == ["impersonate"] and resources <= NAMESPACED_IMPERSONATION:
        return None
    if held:
        return f"the verb {held[0]}, which lets its holders " + (
            "act as other users" if held[0] == "impersonate" else "grant rights they do not hold")
    return None


def dangerous_rules(role: Object) -> list[str]:
    """Each dangerous rule of a ClusterRole, as 'RULE (REASON)'."""
    found = []
    for rule in role.get("rules") or []:
        reason = why_dangerous(rule)
        if reason:
            found.append(f"{json.dumps(rule, sort_keys=True, separators=(',', ':'))} ({reason})")
    return found


def bound_cluster_roles(objects: list[Object]) -> dict[str, list[str]]:
    """ClusterRole name -> the RoleBindings among ``objects`` that reference it."""
    bound: dict[str, list[str]] = {}
    for obj in objects:
        ref = obj.get("roleRef", {}) if obj.get("kind") == "RoleBinding" else {}
        if ref.get("kind") == "ClusterRole":
            bound.setdefault(ref["name"], []).append(obj["metadata"]["name"])
    return bound


def names(desired: Mapping[str, list[Object]]) -> set[str]:
    return {name for objects in desired.values() for name in bound_cluster_roles(objects)}


def refuse_dangerous(plans: Sequence[TargetPlan], desired: Mapping[str, list[Object]],
                     roles: Mapping[str, Object | None]) -> list[TargetPlan]:
    """Every planned target that would bind a dangerous ClusterRole, refused; a warning where a bound one is
    missing. ``roles`` are the ClusterRoles as the cluster holds them (None: it has no such role). Each role's
    dangerous rules are found once for the cluster, not once per target that binds it."""
    dangers = {role: dangerous_rules(live) for role, live in roles.items() if live is not None}
    return [_checked(plan, desired.get(plan.key, []), dangers) for plan in plans]


def _checked(plan: TargetPlan, desired: list[Object], dangers: Mapping[str, list[str]]) -> TargetPlan:
    warnings, refusals = list(plan.warnings), list(plan.refusals)
    for role, bindings in sorted(bound_cluster_roles(desired).items()):
        rules = dangers.get(role)
        where = f"cluster {plan.cluster}: RoleBinding {plan.namespace}/{bindings[0]} binds ClusterRole {role}"
        if rules is None:
            warnings.append(f"{where}, which does not exist there: the binding grants nothing until it "
                            "does (the agent's is installed by deploy/agent-role.yaml)")
            continue
        for rule in rules:
            refusals.append(f"{where}, which holds the rule {rule}; nothing in this target is written. "
                            f"Remove the rule from the ClusterRole, or {role} from the guardrails' "
                            "allowedClusterRoles and the repository's access entries")
    return replace(plan, warnings=tuple(warnings), refusals=tuple(refusals))
