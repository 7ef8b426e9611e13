"""Which ClusterRole rules make a role too dangerous to bind, and how a target that binds one is refused."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan import rolecheck
from reconciler.plan.changes import TargetPlan

RBAC = "rbac.authorization.k8s.io"
SAFE: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch", "create", "delete"]},
    # Kubernetes' own edit and admin hold this: through a RoleBinding it reaches this namespace's ServiceAccounts.
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
    {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
]
DANGEROUS: list[tuple[dict[str, Any], str]] = [
    ({"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["bind"]}, "the verb bind"),
    ({"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["get", "escalate"]}, "the verb escalate"),
    ({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}, "the verb impersonate"),
    ({"apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes"], "verbs": ["impersonate"]},
     "the verb impersonate"),
    ({"apiGroups": [""], "resources": ["serviceaccounts", "groups"], "verbs": ["impersonate"]},
     "the verb impersonate"),
    ({"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}, "a wildcard in apiGroups"),
    ({"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}, "a wildcard in resources"),
    ({"apiGroups": ["apps"], "resources": ["deployments/*"], "verbs": ["get"]}, "a wildcard in resources"),
    ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}, "a wildcard in verbs"),
    ({"nonResourceURLs": ["/api/*"], "verbs": ["get"]}, "a wildcard in nonResourceURLs"),
]


@pytest.mark.parametrize("rule", SAFE)
def test_rules_that_stay_inside_the_namespace_are_not_dangerous(rule: dict[str, Any]) -> None:
    assert rolecheck.why_dangerous(rule) is None


@pytest.mark.parametrize(("rule", "reason"), DANGEROUS)
def test_rules_that_widen_access_are_dangerous(rule: dict[str, Any], reason: str) -> None:
    found = rolecheck.why_dangerous(rule)
    assert found is not None and found.startswith(reason)


def binding(name: str, role: str, kind: str = "ClusterRole") -> dict[str, Any]:
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": "ml-dev"},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role}}


def test_a_target_binding_a_dangerous_role_is_refused_with_the_rule_and_a_missing_role_is_a_warning() -> None:
    plans = [TargetPlan("shared", "ml-dev", "dev"), TargetPlan("shared", "ml-staging", "staging")]
    desired = {"shared/ml-dev": [binding("access-team-a-edit", "edit"), binding("reconciler-ml-agent",
                                                                                "reconciler-ml-agent")],
               "shared/ml-staging": [binding("access-team-a-view", "view"), binding("local", "x", kind="Role")]}
    assert rolecheck.names(desired) == {"edit", "reconciler-ml-agent", "view"}
    roles = {"edit": {"rules": [*SAFE, DANGEROUS[0][0]]}, "view": {"rules": SAFE}, "reconciler-ml-agent": None}
    dev, staging = rolecheck.refuse_dangerous(plans, desired, roles)
    assert dev.refusals == (
        'cluster shared: RoleBinding ml-dev/access-team-a-edit binds ClusterRole edit, which holds the rule '
        '{"apiGroups":["rbac.authorization.k8s.io"],"resources":["clusterroles"],"verbs":["bind"]} (the verb bind, '
        "which lets its holders grant rights they do not hold); nothing in this target is written. Remove the rule "
        "from the ClusterRole, or edit from the guardrails' allowedClusterRoles and the repository's access entries",)
    assert dev.warnings == (
        "cluster shared: RoleBinding ml-dev/reconciler-ml-agent binds ClusterRole reconciler-ml-agent, which does "
        "not exist there: the binding grants nothing until it does (the agent's is installed by "
        "deploy/agent-role.yaml)",)
    assert staging.refusals == () and staging.warnings == ()
