"""Who may do what, where, according to git alone: the access matrix and how a change moves it.

Pure: a resolved Landscape in, typed values out. A *holder* is what an access entry names (a team or a user); its
*subjects* are the Kubernetes identities the RoleBinding names (the team's groups, users and service accounts).
``reconciler access`` prints the matrix; ``reconciler diff`` shows who gains or loses which role where; and
:mod:`reconciler.report.access_live` compares the matrix with what the API servers actually allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.config.model import Landscape, Target

SubjectKind = Literal["User", "Group", "ServiceAccount"]


@dataclass(frozen=True, order=True)
class Subject:
    """One identity the API server authorizes: a user, a group, or a service account (``namespace/name``)."""

    kind: SubjectKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()} {self.name}"


@dataclass(frozen=True)
class Grant:
    """One access entry of one environment target: ``holder`` gets ClusterRole ``role`` in the namespace."""

    holder: str  # "team vision" or "user alice@example.com"
    role: str
    environment: str
    cluster: str
    namespace: str
    subjects: tuple[Subject, ...]

    @property
    def where(self) -> str:
        return f"{self.cluster}/{self.namespace}"


@dataclass(frozen=True)
class AccessChange:
    """A subject whose roles in one environment differ between two revisions (``before`` or ``after`` empty when it
    gains or loses access), at the targets listed."""

    subject: Subject
    via: str  # the holder the role comes through: "team vision" or "user alice@example.com"
    environment: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    targets: tuple[str, ...]

    def describe(self) -> str:
        if not self.before:
            return f"gains {', '.join(self.after)}"
        if not self.after:
            return f"loses {', '.join(self.before)}"
        return f"{', '.join(self.before)} -> {', '.join(self.after)}"


def team_subjects(landscape: Landscape, team: str) -> tuple[Subject, ...]:
    found = landscape.teams[team]
    return (*(Subject("Group", group) for group in found.groups), *(Subject("User", user) for user in found.users),
            *(Subject("ServiceAccount", f"{sa.namespace}/{sa.name}") for sa in found.service_accounts))


def grants(landscape: Landscape, targets: tuple[Target, ...] | None = None) -> list[Grant]:
    """Every access entry of every target (all of the landscape's by default), teams expanded to their subjects."""
    result = []
    for target in landscape.targets if targets is None else targets:
        for entry in target.environment.access:
            subjects = team_subjects(landscape, entry.name) if entry.subject == "team" else (
                Subject("User", entry.name),)
            result.append(Grant(f"{entry.subject} {entry.name}", entry.role, target.environment.name,
                                target.cluster.name, target.namespace, subjects))
    return result


def matrix(found: list[Grant]) -> dict[str, dict[str, tuple[str, ...]]]:
    """holder -> environment -> roles (sorted), for the rows and columns of the access table."""
    table: dict[str, dict[str, set[str]]] = {}
    for grant in found:
        table.setdefault(grant.holder, {}).setdefault(grant.environment, set()).add(grant.role)
    return {holder: {env: tuple(sorted(roles)) for env, roles in by_env.items()}
            for holder, by_env in sorted(table.items(), key=lambda item: _holder_order(item[0]))}


def members(landscape: Landscape, found: list[Grant]) -> dict[str, tuple[Subject, ...]]:
    """Every team of the landscape, and every user ``found`` grants to directly -> the subjects it stands for."""
    holders = {f"team {team}": team_subjects(landscape, team) for team in landscape.teams}
    holders.update((grant.holder, grant.subjects) for grant in found)
    return dict(sorted(holders.items(), key=lambda item: _holder_order(item[0])))


def _holder_order(holder: str) -> tuple[bool, str]:
    return not holder.startswith("team "), holder


def _roles_by_subject(found: list[Grant]) -> dict[tuple[Subject, str, str, str], set[str]]:
    """(subject, via, environment, target) -> roles."""
    roles: dict[tuple[Subject, str, str, str], set[str]] = {}
    for grant in found:
        for subject in grant.subjects:
            roles.setdefault((subject, grant.holder, grant.environment, grant.where), set()).add(grant.role)
    return roles


def changes(before: Landscape, after: Landscape) -> list[AccessChange]:
    """Who gains or loses which role, where, from ``before`` to ``after`` (team membership changes included)."""
    old, new = _roles_by_subject(grants(before)), _roles_by_subject(grants(after))
    grouped: dict[tuple[Subject, str, str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for key in old.keys() | new.keys():
        was, now = tuple(sorted(old.get(key, ()))), tuple(sorted(new.get(key, ())))
        if was != now:
            subject, via, environment, where = key
            grouped.setdefault((subject, via, environment, was, now), []).append(where)
    result = [AccessChange(subject, via, environment, was, now, tuple(sorted(where)))
              for (subject, via, environment, was, now), where in grouped.items()]
    return sorted(result, key=lambda c: (c.environment, _holder_order(c.via), c.subject, c.before, c.after))
