"""Who may talk to the test clusters: static bearer tokens for an admin and a few team members.

The API servers read ``tokens.csv`` (``--token-auth-file``); ``users.json`` shows the same users, their groups and
tokens to people and tests. Every cluster of one environment accepts the same tokens, as with a shared identity
provider.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ADMIN = "admin"
CONTROLLER_MANAGER = "system:kube-controller-manager"
SCHEDULER = "system:kube-scheduler"  # bound by the API server's bootstrap RBAC policy, like a real scheduler
KWOK = "kwok"  # the simulated nodes' kubelets, all in one process
SERVICES = frozenset({CONTROLLER_MANAGER, SCHEDULER, KWOK})  # components, not people: not in users.json

# Groups named as an OIDC provider would send them; teams in an environments repo bind to these.
DEFAULT_MEMBERS: dict[str, tuple[str, ...]] = {
    "alice": ("oidc:ml-research",),
    "bob": ("oidc:ml-vision",),
    "carol": ("oidc:platform",),
}


@dataclass(frozen=True)
class User:
    name: str
    token: str
    groups: tuple[str, ...]


def make(members: Mapping[str, Sequence[str]] | None = None) -> dict[str, User]:
    """The admin (group system:masters), the components' identities, and the given members."""
    groups: dict[str, tuple[str, ...]] = {
        ADMIN: ("system:masters",), CONTROLLER_MANAGER: ("system:masters",), SCHEDULER: (), KWOK: ("system:masters",),
    }  # fmt: skip
    groups.update({name: tuple(member_groups) for name, member_groups in (members or DEFAULT_MEMBERS).items()})
    return {name: User(name, secrets.token_urlsafe(32), user_groups) for name, user_groups in groups.items()}


def read_members(path: Path) -> dict[str, tuple[str, ...]]:
    """Members from a JSON file ``{"alice": ["oidc:ml-research"], ...}``."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not all(
        isinstance(groups, list) and all(isinstance(group, str) for group in groups) for groups in data.values()
    ):
        raise ValueError(f'{path}: expected a JSON object of user name -> list of groups, e.g. {{"alice": ["g"]}}')
    return {str(name): tuple(groups) for name, groups in data.items()}


def write_token_file(path: Path, users: Mapping[str, User]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        for user in users.values():
            writer.writerow([user.token, user.name, user.name, ",".join(user.groups)])
    path.chmod(0o600)


def write_json(path: Path, users: Mapping[str, User]) -> None:
    listed = {name: {"token": user.token, "groups": list(user.groups)} for name, user in users.items()}
    path.write_text(json.dumps(listed, indent=2) + "\n")
    path.chmod(0o600)


def read_json(path: Path) -> dict[str, User]:
    data = json.loads(path.read_text())
    return {name: User(name, entry["token"], tuple(entry["groups"])) for name, entry in data.items()}
