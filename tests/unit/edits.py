"""A small landscape written as files, one document per file, and random edits a commit could make to it: the
base of the tests of what a new revision may reuse."""

from __future__ import annotations

import random
from pathlib import Path

from reconciler.config import Landscape, load_landscape

PLATFORM = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {{name: inc}}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {{namespace: {control}}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: east}}
spec:
  connection: {{context: east}}
  nodePools:
    cpu: {{nodeSelector: {{pool: {pool}}}}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: west}}
spec:
  connection: {{context: west}}
  nodePools:
    cpu: {{nodeSelector: {{pool: cpu}}}}
"""
TEAM = """apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: {name}}}
spec: {{groups: ["oidc:{name}-{version}"]}}
"""
PROFILE = """apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {{name: {name}}}
spec:
  quota: {{cpu: "{cpu}", memory: 64Gi, pods: 100}}
  network: {network}
  agent:
    image: polyaxon/polyaxon-agent:2.15.{patch}
    nodePool: cpu
    tokenSecret: {{name: agent-token}}
    queues: [{{name: default, concurrency: 4, nodePool: cpu}}]
"""
ENVIRONMENT = """apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: env-{i:02d}}}
spec:
  extends: [{profile}]
  targets: [{{cluster: {cluster}, namespace: ns-{i:02d}}}]
  quota: {{gpu: {gpu}}}
  access: [{{team: {team}, role: {role}}}]
"""
TEAMS, PROFILES, CLUSTERS, ROLES = ("vision", "nlp", "ops"), ("small", "large"), ("east", "west"), ("view", "edit")


def repository() -> dict[str, dict[str, object]]:
    """The parameters of every document; an edit changes one of them."""
    state: dict[str, dict[str, object]] = {"platform.yaml": {"control": "polyaxon", "pool": "cpu"}}
    for team in TEAMS:
        state[f"teams/{team}.yaml"] = {"name": team, "version": 1}
    for number, profile in enumerate(PROFILES):
        state[f"profiles/{profile}.yaml"] = {"name": profile, "cpu": 8 * (number + 1), "network": "isolated",
                                             "patch": 1}
    for i in range(12):
        state[f"environments/env-{i:02d}.yaml"] = {"i": i, "profile": PROFILES[i % 2], "cluster": CLUSTERS[i % 2],
                                                   "gpu": 1, "team": TEAMS[i % 3], "role": "view"}
    return state


def _template(path: str) -> str:
    if path == "platform.yaml":
        return PLATFORM
    return {"teams": TEAM, "profiles": PROFILE, "environments": ENVIRONMENT}[path.split("/")[0]]


def write(root: Path, state: dict[str, dict[str, object]]) -> Landscape:
    for old in root.rglob("*.yaml"):
        if old.relative_to(root).as_posix() not in state:
            old.unlink()
    for path, values in state.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(_template(path).format(**values))
    return load_landscape(root)


def edit(state: dict[str, dict[str, object]], rng: random.Random) -> None:
    """One random edit a commit could make: a value of an environment or of a shared document, or an environment
    added or removed."""
    environments = sorted(p for p in state if p.startswith("environments/"))
    kind = rng.choice(["gpu", "team", "role", "profile", "cluster", "add", "remove", "profile-cpu", "profile-image",
                       "team-groups", "platform", "node-pool"])
    one = state[rng.choice(environments)] if environments else None
    if kind == "add" or one is None:
        i = rng.randrange(12, 99)
        state[f"environments/env-{i:02d}.yaml"] = {"i": i, "profile": rng.choice(PROFILES), "cluster": "east",
                                                   "gpu": 1, "team": rng.choice(TEAMS), "role": "edit"}
    elif kind == "remove" and len(environments) > 1:
        del state[rng.choice(environments)]
    elif kind in ("gpu", "team", "role", "profile", "cluster"):
        choices = {"gpu": (1, 2, 3), "team": TEAMS, "role": ROLES, "profile": PROFILES, "cluster": CLUSTERS}
        one[kind] = rng.choice(choices[kind])
    elif kind.startswith("profile-"):
        profile = state[f"profiles/{rng.choice(PROFILES)}.yaml"]
        field = "cpu" if kind == "profile-cpu" else "patch"
        profile[field] = int(str(profile[field])) + 1
    elif kind == "team-groups":
        team = state[f"teams/{rng.choice(TEAMS)}.yaml"]
        team["version"] = int(str(team["version"])) + 1
    elif kind == "platform":
        state["platform.yaml"]["control"] = rng.choice(["polyaxon", "control"])
    else:
        state["platform.yaml"]["pool"] = rng.choice(["cpu", "cpus"])
