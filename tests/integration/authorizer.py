"""Waits for the API server's RBAC authorizer, which decides from a cache of Roles and bindings that its watch
brings up to date a moment after each write: right after an apply, a member's token can still be refused what a
new RoleBinding grants (or allowed what a deleted one granted), the more so on a loaded machine."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from testenv import polling

TIMEOUT = 30.0  # the cache follows within a second; a busy machine can delay a watch event by several


def says(api: k8s.ApiClient, allowed: bool, namespace: str, verb: str, resource: str, group: str = "", *,
         user: str = "nobody@reconciler.invalid", groups: tuple[str, ...] = ()) -> None:
    """Wait until the authorizer answers ``allowed`` to ``user`` (in ``groups``) asking to ``verb`` ``resource``."""
    attributes = k8s.V1ResourceAttributes(namespace=namespace, verb=verb, group=group, resource=resource)
    review = k8s.V1SubjectAccessReview(spec=k8s.V1SubjectAccessReviewSpec(
        user=user, groups=list(groups), resource_attributes=attributes))
    authorization = k8s.AuthorizationV1Api(api)
    polling.until(lambda: bool(authorization.create_subject_access_review(review).status.allowed) == allowed,
                  TIMEOUT, f"the authorizer to {'allow' if allowed else 'refuse'} {user} {list(groups)} to {verb} "
                           f"{resource} in {namespace}")


def bindings_in_effect(api: k8s.ApiClient, namespace: str) -> None:
    """Wait until every RoleBinding of ``namespace`` grants each of its subjects the first right of its role (a
    role that does not exist grants nothing, and is not waited for)."""
    rbac = k8s.RbacAuthorizationV1Api(api)
    for binding in rbac.list_namespaced_role_binding(namespace).items:
        right = _first_right(rbac, binding.role_ref, namespace)
        for subject in (binding.subjects or []) if right else []:
            says(api, True, namespace, *right, **_who(subject, namespace))


def _first_right(rbac: k8s.RbacAuthorizationV1Api, ref: k8s.V1RoleRef, namespace: str) -> tuple[str, str, str] | None:
    try:
        role = (rbac.read_cluster_role(ref.name) if ref.kind == "ClusterRole"
                else rbac.read_namespaced_role(ref.name, namespace))
    except k8s.ApiException as error:
        if error.status == 404:
            return None
        raise
    for rule in role.rules or []:
        concrete = [v for v in rule.verbs if v != "*"], [r for r in rule.resources or [] if not set("*/") & set(r)]
        if all(concrete) and not rule.resource_names and "*" not in (rule.api_groups or [""]):
            return concrete[0][0], concrete[1][0], (rule.api_groups or [""])[0]
    return None


def _who(subject: k8s.RbacV1Subject, namespace: str) -> dict[str, Any]:
    if subject.kind == "ServiceAccount":
        return {"user": f"system:serviceaccount:{subject.namespace or namespace}:{subject.name}"}
    return {"user": subject.name} if subject.kind == "User" else {"groups": (subject.name,)}
