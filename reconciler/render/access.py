"""Access bindings: one RoleBinding per access entry, from a team's groups, users and service accounts."""

from __future__ import annotations

import hashlib
import re

from reconciler.config.model import Access, Target, Team
from reconciler.render.objects import Manifest, manifest

RBAC_GROUP = "rbac.authorization.k8s.io"
_NOT_IN_NAME = re.compile(r"[^a-z0-9]+")


def binding_name(entry: Access) -> str:
    """A stable, valid name such as ``access-team-vision-view`` or ``access-user-alice-example-com-1a2b3c4d-edit``.

    The role is part of the name because a RoleBinding's roleRef cannot change: a new role is a new binding.
    """
    if entry.subject == "team":
        return f"access-team-{entry.name}-{entry.role}"
    slug = _NOT_IN_NAME.sub("-", entry.name.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(entry.name.encode()).hexdigest()[:8]
    return f"access-user-{slug}-{digest}-{entry.role}"


def subjects(entry: Access, teams: dict[str, Team]) -> list[dict[str, str]]:
    if entry.subject == "user":
        return [{"kind": "User", "apiGroup": RBAC_GROUP, "name": entry.name}]
    team = teams[entry.name]
    return [
        *({"kind": "Group", "apiGroup": RBAC_GROUP, "name": group} for group in team.groups),
        *({"kind": "User", "apiGroup": RBAC_GROUP, "name": user} for user in team.users),
        *({"kind": "ServiceAccount", "namespace": sa.namespace, "name": sa.name} for sa in team.service_accounts),
    ]


def render(target: Target, teams: dict[str, Team]) -> list[Manifest]:
    return [
        manifest(
            f"{RBAC_GROUP}/v1", "RoleBinding", binding_name(entry), target,
            extra_labels={"reconciler/access": entry.subject},
            roleRef={"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": entry.role},
            subjects=subjects(entry, teams),
        )
        for entry in target.environment.access
    ]
