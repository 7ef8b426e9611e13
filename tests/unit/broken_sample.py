"""A copy of sample-repo broken in several files, and the errors ``reconciler validate`` must print for it."""

from __future__ import annotations

from pathlib import Path


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    lines = [number for number, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    assert len(lines) == 1, f"{needle!r} in {path}"
    return lines[0]


def break_sample(root: Path) -> list[str]:
    """Break several files of a sample-repo copy; the errors validate must print, in order."""
    envs = root / "environments"
    replace(envs / "dev.yaml", "{team: research, role: edit}", "{team: research, role: cluster-admin}")
    replace(root / "clusters/gpu.yaml", "    a100:", "    h100:")
    replace(envs / "staging.yaml", "memory: 128Gi", "memory: 128 GB")
    replace(root / "profiles/standard.yaml", "network: isolated", "network: closed")
    replace(root / "teams/teams.yaml", "  users: [bob@example.com]\n",
            "  users: [bob@example.com]\n  users: [dan@example.com]\n")
    (root / "secrets").mkdir()
    (root / "secrets/agent-token.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: agent-token}\n"
                                                   "stringData: {token: s3cr3t}\n")
    return [
        f"environments/dev.yaml:{line_of(envs / 'dev.yaml', 'cluster-admin')}: spec.access[0].role: role "
        "'cluster-admin' is not allowed by the Platform (allowedClusterRoles: view, edit, admin); git may grant only "
        "allow-listed ClusterRoles",
        f"environments/prod.yaml:{line_of(envs / 'prod.yaml', 'nodePool: a100')}: spec.agent.queues[0].nodePool: "
        "node pool 'a100' is not defined on cluster 'gpu', a target of environment 'prod'; did you mean 'h100'?",
        f"environments/staging.yaml:{line_of(envs / 'staging.yaml', '128 GB')}: spec.quota.memory: '128 GB' is not "
        "a valid Kubernetes quantity: use a non-negative number with an optional suffix (examples: 500m, 2, 1.5, "
        "512Mi, 4Gi)",
        f"profiles/standard.yaml:{line_of(root / 'profiles/standard.yaml', 'closed')}: spec.network: 'closed' is not "
        'one of: "isolated", "open"',
        "secrets/agent-token.yaml:2: kind: Secrets never live in git: create the Secret in the cluster (or with a "
        "secrets manager) and reference it by name",
        f"teams/teams.yaml:{line_of(root / 'teams/teams.yaml', 'dan@')}: spec.users: duplicate key (first defined on "
        f"line {line_of(root / 'teams/teams.yaml', 'bob@')}); keep only one",
    ]
