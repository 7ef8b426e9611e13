"""Shared helpers of the unit tests: small environments repositories written into ``tmp_path``."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.config import Landscape, load_landscape
from reconciler.errors import InvalidRepository

SAMPLE_REPO = Path(__file__).resolve().parents[2] / "sample-repo"

# A small valid landscape; tests add or replace files to break one thing at a time.
BASE_FILES = {
    "platform.yaml": """
        apiVersion: reconciler.dev/v1alpha1
        kind: Platform
        metadata: {name: test-platform}
        spec:
          allowedClusterRoles: [view, edit, admin]
          controlPlane: {cluster: shared, namespace: polyaxon}
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
    "profiles.yaml": """
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
}


def dedent(text: str) -> str:
    """Test YAML as written in the test, with line 1 being the first line after the opening quotes."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass
class Repo:
    """An environments repository under ``tmp_path`` that a test writes, breaks and loads."""

    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return path

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink()

    def landscape(self) -> Landscape:
        return load_landscape(self.root)

    def errors(self) -> list[str]:
        """Every error of an invalid repository, as printed (``path:line: field: message``), in order."""
        with pytest.raises(InvalidRepository) as raised:
            load_landscape(self.root)
        return [str(error) for error in raised.value.errors]

    def only_error(self) -> str:
        errors = self.errors()
        assert len(errors) == 1, "\n".join(errors)
        return errors[0]


@pytest.fixture
def empty_repo(tmp_path: Path) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    return Repo(root)


@pytest.fixture
def repo(empty_repo: Repo) -> Repo:
    """The small valid landscape of BASE_FILES."""
    for relative, text in BASE_FILES.items():
        empty_repo.write(relative, text)
    return empty_repo


@pytest.fixture
def sample_copy(tmp_path: Path) -> Repo:
    """A copy of sample-repo that a test may break."""
    root = tmp_path / "sample"
    shutil.copytree(SAMPLE_REPO, root)
    return Repo(root)
