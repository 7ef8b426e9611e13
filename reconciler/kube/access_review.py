"""Authorization questions to a cluster: SubjectAccessReview (authorization.k8s.io/v1) and ClusterRole rules.

A SubjectAccessReview asks the API server's own authorizer whether an identity may do one thing; the answer
includes the authorizer's reason (for RBAC, the binding that allowed it), so out-of-band grants can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.kube import errors
from reconciler.kube.client import ClusterClient
from reconciler.kube.resources import CLUSTER_ROLE, SUBJECT_ACCESS_REVIEW


@dataclass(frozen=True)
class Identity:
    """Who is asked about: a user name (may be empty for a group alone) and the groups it would carry."""

    user: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    allowed: bool
    reason: str  # the authorizer's words, e.g. RBAC: allowed by RoleBinding "x/ns" of ClusterRole "edit" to ...


def review(client: ClusterClient, identity: Identity, namespace: str, verb: str, group: str,
           resource: str) -> Answer:
    """May ``identity`` ``verb`` ``resource`` (of API group ``group``) in ``namespace`` on this cluster?"""
    spec: dict[str, Any] = {"groups": list(identity.groups),
                            "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                                   "resource": resource}}
    if identity.user:
        spec["user"] = identity.user
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
    shown = identity.user or ",".join(identity.groups)
    answer = client.request("POST", SUBJECT_ACCESS_REVIEW.collection_path(),
                            f"review {verb} {resource} in {namespace} for {shown}", body=body)
    status = answer.get("status", {})
    return Answer(bool(status.get("allowed")) and not status.get("denied"), str(status.get("reason", "")))


def cluster_role_rules(client: ClusterClient, name: str) -> list[dict[str, Any]] | None:
    """The rules of ClusterRole ``name`` (aggregated ones included), None when the cluster has no such role."""
    try:
        role = client.request("GET", CLUSTER_ROLE.object_path(None, name), f"get ClusterRole {name}")
    except errors.NotFound:
        return None
    rules: list[dict[str, Any]] = role.get("rules") or []
    return rules
