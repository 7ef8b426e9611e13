"""The environments repository of bench/scale.py: one Platform, N Clusters, and per cluster T environments with one
target each (environment i on cluster i mod N), rendering the objects of bench/converge.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Rendered: Namespace, ResourceQuota, LimitRange, two team RoleBindings, NetworkPolicy and the agent's
# ServiceAccount, RoleBinding, ConfigMap and Deployment; the reconciler adds its inventory ConfigMap.
OBJECTS_PER_TARGET = 11

PLATFORM = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {name: bench-scale}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {namespace: polyaxon}
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {name: research}
spec: {groups: ["oidc:ml-research"]}
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {name: platform}
spec: {groups: ["oidc:platform"]}
---
apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {name: standard}
spec:
  quota: {cpu: "16", memory: 64Gi, gpu: 2, pods: 100}
  limits: {defaultRequest: {cpu: 250m, memory: 512Mi}, default: {cpu: "1", memory: 2Gi}}
  network: isolated
  access: [{team: platform, role: admin}, {team: research, role: edit}]
  agent:
    image: polyaxon/polyaxon-agent:2.15.1
    nodePool: cpu
    tokenSecret: {name: agent-token}
    queues:
      - {name: default, concurrency: 4, nodePool: cpu}
      - {name: training, concurrency: 2, nodePool: a100}
"""

CLUSTER = """---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: {name}}}
spec:
  connection: {{context: {name}}}
  nodePools:
    cpu: {{nodeSelector: {{pool: cpu}}}}
    a100:
      gpu: true
      nodeSelector: {{gpu: a100}}
      tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
"""

ENVIRONMENT = """---
apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: env-{i:05d}}}
spec:
  extends: [standard]
  targets: [{{cluster: {cluster}, namespace: scale-{i:05d}}}]
  quota: {{gpu: {gpu}}}
"""


def cluster_names(count: int) -> list[str]:
    """Names that are also the contexts of the test environment's kubeconfig."""
    return [f"c{i:02d}" for i in range(count)]


def generate(directory: Path, clusters: Sequence[str], per_cluster: int, changed: int | None = None) -> Path:
    """Write (or rewrite) the repository; ``changed`` is the environment whose GPU quota is raised from 2 to 3."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "platform.yaml").write_text(PLATFORM + "".join(CLUSTER.format(name=name) for name in clusters))
    # One file per cluster: the loader refuses files over 1 MiB, which 10,000 environments in one file exceed.
    for c, cluster in enumerate(clusters):
        environments = "".join(
            ENVIRONMENT.format(i=i, cluster=cluster, gpu=3 if i == changed else 2)
            for i in range(c, len(clusters) * per_cluster, len(clusters))
        )
        (directory / f"environments-{cluster}.yaml").write_text(environments)
    return directory
