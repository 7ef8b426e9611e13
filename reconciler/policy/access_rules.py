"""Access rules: a role the Platform does not allow, and access widened (more so in production or protected
environments)."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.config.model import Access, Environment, Team
from reconciler.policy.findings import PROD_NAMES, ROLE_RANK, Assessment, listing


def _principals(entry: Access, teams: dict[str, Team]) -> Iterator[str]:
    if entry.subject == "user":
        yield f"user {entry.name}"
        return
    team = teams.get(entry.name)
    if team is None:
        return
    yield from (f"group {group}" for group in team.groups)
    yield from (f"user {user}" for user in team.users)
    yield from (f"service account {sa.namespace}/{sa.name}" for sa in team.service_accounts)


def _grants(environment: Environment | None, teams: dict[str, Team]) -> dict[str, dict[str, str]]:
    """principal -> {role: "team x" or "user y"} for every binding of the environment."""
    result: dict[str, dict[str, str]] = {}
    for entry in environment.access if environment else ():
        for principal in _principals(entry, teams):
            result.setdefault(principal, {}).setdefault(entry.role, f"{entry.subject} {entry.name}")
    return result


def _covered(role: str, held: set[str]) -> bool:
    rank = ROLE_RANK.get(role)
    return role in held or (rank is not None and any(ROLE_RANK.get(h, 0) >= rank for h in held))


def _widened(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """``team vision gets edit (was view): group oidc:ml-vision, user bob@example.com``, one item per grant."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for principal, roles in sorted(after.items()):
        held = set(before.get(principal, {}))
        for role, via in sorted(roles.items()):
            if not _covered(role, held):
                was = f"was {'/'.join(sorted(held))}" if held else "new"
                grouped.setdefault((via, role, was), []).append(principal)
    return [f"{via} gets {role} ({was}): {', '.join(principals)}"
            for (via, role, was), principals in sorted(grouped.items())]


def access(check: Assessment, name: str, before: Environment | None, after: Environment) -> None:
    allowed = check.head.platform.allowed_cluster_roles
    for entry in after.access:
        if entry.role not in allowed:
            check.add("role-not-allowed", name, (
                f"{name} binds {entry.subject} {entry.name} to ClusterRole {entry.role}, which the Platform does "
                f"not allow ({', '.join(allowed)}): refused. Use an allowed role"))
    if before is not None and before.access == after.access and all(
            check.base.teams.get(entry.name) == check.head.teams.get(entry.name)
            for entry in after.access if entry.subject == "team"):
        return  # the same bindings of the same members: nothing widened (most environments of a commit)
    widened = _widened(_grants(before, check.base.teams), _grants(after, check.head.teams))
    if not widened:
        return
    opening = f"new environment {name} grants access:" if before is None else f"{name} grants more access:"
    check.add("access-widened", name, (
        f"{opening} {listing(widened)}. Check that each of them should have this role in {name}"))
    if name in PROD_NAMES or after.protected:
        kind = "production" if name in PROD_NAMES else "protected"
        check.add("access-granted-in-prod", name, (
            f"{name} is a {kind} environment and this change grants new or higher roles there (see access-widened): "
            f"production access needs the approval of the owners of {name}"))

