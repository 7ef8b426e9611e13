"""Real git repositories for the change-control tests: a small landscape, committed, then changed commit by commit.

Commits use fixed names and dates, so the same content always gives the same commit hashes (the golden Markdown
shows them).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.cli import main as cli
from reconciler.plan import diff
from reconciler.plan.diff_model import DiffResult
from reconciler.plan.revisions import load_revisions
from reconciler.policy.findings import Finding, QuotaUsage

# Tuesday 10:00 UTC: inside any weekday office-hours window.
WEEKDAY_MORNING = datetime.fromisoformat("2025-06-03T10:00:00+00:00")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Platform Team",
    "GIT_AUTHOR_EMAIL": "platform@example.com",
    "GIT_AUTHOR_DATE": "2025-06-02T09:00:00+00:00",
    "GIT_COMMITTER_NAME": "Platform Team",
    "GIT_COMMITTER_EMAIL": "platform@example.com",
    "GIT_COMMITTER_DATE": "2025-06-02T09:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}

# dev and staging share one cluster; prod is protected and runs on two.
LANDSCAPE = {
    "platform.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Platform
        metadata: {name: ml-platform}
        spec:
          allowedClusterRoles: [view, edit, admin]
          controlPlane: {cluster: shared, namespace: polyaxon}
          massDeletePercent: 25
        """,
    "clusters.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Cluster
        metadata: {name: shared}
        spec:
          connection: {context: shared}
          nodePools:
            cpu: {nodeSelector: {pool: cpu}}
        ---
        apiVersion: reconciler.dev/v1alpha1
        kind: Cluster
        metadata: {name: gpu}
        spec:
          connection: {context: gpu}
          nodePools:
            cpu: {nodeSelector: {pool: cpu}}
            a100:
              gpu: true
              nodeSelector: {gpu: a100}
              tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
        """,
    "teams.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: {name: research}
        spec: {groups: ["oidc:research"], users: [alice@example.com]}
        ---
        apiVersion: reconciler.dev/v1alpha1
        kind: Team
        metadata: {name: vision}
        spec: {groups: ["oidc:vision"]}
        """,
    "profiles/standard.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Profile
        metadata: {name: standard}
        spec:
          quota: {cpu: "8", memory: 32Gi, gpu: 1}
          limits:
            defaultRequest: {cpu: 250m, memory: 512Mi}
          network: isolated
          access:
            - {team: research, role: view}
          agent:
            image: polyaxon/polyaxon-agent:2.15.1
            nodePool: cpu
            tokenSecret: {name: agent-token}
            queues:
              - {name: default, concurrency: 2, nodePool: cpu}
        """,
    "environments/dev.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: dev}
        spec:
          extends: [standard]
          targets:
            - {cluster: shared, namespace: ml-dev}
          access:
            - {team: research, role: edit}
        """,
    "environments/staging.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: staging}
        spec:
          extends: [standard]
          targets:
            - {cluster: shared, namespace: ml-staging}
        """,
    "environments/prod.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Environment
        metadata: {name: prod}
        spec:
          extends: [standard]
          protected: true
          targets:
            - {cluster: gpu, namespace: ml-prod}
            - {cluster: shared, namespace: ml-prod}
          quota: {gpu: 16}
        """,
}


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@dataclass
class GitRepo:
    """A git work tree under ``tmp_path``; ``root`` may be a folder inside it."""

    top: Path
    root: Path

    @classmethod
    def create(cls, top: Path, files: dict[str, str] | None = None, folder: str = "") -> GitRepo:
        top.mkdir(parents=True, exist_ok=True)
        repo = cls(top, top / folder if folder else top)
        repo.git("init", "-q", "-b", "main")
        for relative, text in (LANDSCAPE if files is None else files).items():
            repo.write(relative, text)
        repo.commit("base")
        return repo

    @classmethod
    def from_directory(cls, top: Path, source: Path) -> GitRepo:
        shutil.copytree(source, top)
        repo = cls(top, top)
        repo.git("init", "-q", "-b", "main")
        repo.commit("base")
        return repo

    def git(self, *args: str) -> str:
        completed = subprocess.run(["git", "-C", str(self.top), "-c", "commit.gpgsign=false", *args],
                                   env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True)
        return completed.stdout.strip()

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def replace(self, relative: str, old: str, new: str) -> None:
        text = self.read(relative)
        assert old in text, f"{old!r} not in {relative}"
        (self.root / relative).write_text(text.replace(old, new), encoding="utf-8")

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def diff(self, base: str = "HEAD~1", head: str = "HEAD", usage: QuotaUsage | None = None,
             now: datetime = WEEKDAY_MORNING) -> DiffResult:
        return diff.compare(load_revisions(self.root, base, head), usage, now)

    def cli(self, *args: str) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["diff", str(self.root), *args])
        return CliRun(code, out.getvalue(), err.getvalue())


def rules(result: DiffResult) -> dict[str, list[Finding]]:
    """Findings by rule id."""
    found: dict[str, list[Finding]] = {}
    for finding in result.findings:
        found.setdefault(finding.rule, []).append(finding)
    return found
