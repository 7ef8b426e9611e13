"""Benchmark of validate + render on a generated environments repository of N environments.

For each N (default 100 and 1,000) the script writes a realistic repository into a temporary folder: a Platform,
four clusters (two shared CPU clusters, two GPU clusters with tainted GPU pools), twenty teams, three profiles (one
extending another) and one file per environment; every fifth environment is replicated onto two GPU clusters.
Then, each in a fresh process so that figures do not mix:

* ``reconciler``: read, validate (schemas), resolve (profiles, references) and render every target, as
  ``reconciler render`` does, timed with ``time.perf_counter``;
* baselines on the same files: ``yaml.safe_load_all`` (the pure-Python loader most tools use) and
  ``yaml.load_all(Loader=CSafeLoader)`` (the C loader the reconciler builds on), i.e. reading YAML without any
  validation.

Memory is reported twice: the process's peak resident set (``resource.getrusage``, measured after the timed run) and
the peak of Python allocations during a second, traced run (``tracemalloc``). Times are of the first run in the
process (cold caches, as in the CLI); ``--runs`` repeats it and reports the best of warm runs next to it.

    .venv/bin/python bench/render.py [--sizes 100 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.config import load_landscape  # noqa: E402  (imported before timing: the CLI pays it once)
from reconciler.render import render_landscape  # noqa: E402

TARGET_SECONDS = 3.0
TARGET_MEGABYTES = 300.0
MODES = ("safe_load_all", "CSafeLoader", "reconciler")

PLATFORM = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {name: bench}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {cluster: shared-a, namespace: polyaxon}
  massDeletePercent: 25
"""

CLUSTER = """apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: {name}}}
spec:
  connection: {{context: {name}}}
  nodePools:
    cpu:
      nodeSelector: {{pool: cpu}}
{gpu}"""

GPU_POOL = """    a100:
      gpu: true
      nodeSelector: {gpu: a100}
      tolerations:
        - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}
"""

TEAM = """apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: team-{index:02d}}}
spec:
  groups: ["oidc:team-{index:02d}"]
  users: [lead-{index:02d}@example.com, engineer-{index:02d}@example.com]
  serviceAccounts:
    - {{namespace: polyaxon, name: pipeline-{index:02d}}}
---
"""

PROFILES = """apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {name: standard}
spec:
  quota: {cpu: "16", memory: 64Gi, pods: 100, storage: 500Gi, objects: {persistentvolumeclaims: 20, services: 10}}
  limits:
    defaultRequest: {cpu: 250m, memory: 512Mi}
    default: {cpu: "1", memory: 2Gi}
  network: isolated
  access:
    - {team: team-00, role: admin}
  agent:
    image: polyaxon/polyaxon-agent:2.15.1
    nodePool: cpu
    resources:
      requests: {cpu: 100m, memory: 256Mi}
      limits: {cpu: 500m, memory: 512Mi}
    tokenSecret: {name: polyaxon-agent-token}
    queues:
      - {name: default, concurrency: 4, priority: 1, nodePool: cpu}
    connections:
      - name: artifacts
        kind: artifacts-store
        provider: s3
        schema: {bucket: "s3://ml-platform-artifacts"}
        secret: {name: artifacts-store-credentials, mountPath: /etc/polyaxon/artifacts}
---
apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {name: gpu}
spec:
  extends: [standard]
  quota: {gpu: 4}
  limits:
    default: {nvidia.com/gpu: "0"}
    max: {nvidia.com/gpu: "4"}
  agent:
    queues:
      - {name: training, concurrency: 2, priority: 10, nodePool: a100}
---
apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {name: small}
spec:
  quota: {cpu: "4", memory: 16Gi}
  agent: {replicas: 1}
"""

ENVIRONMENT = """apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: {name}}}
spec:
  extends: [{extends}]
  protected: {protected}
  targets:
{targets}  quota: {{cpu: "{cpu}", memory: {memory}Gi}}
  labels: {{cost-center: cc-{cost_center}}}
  access:
    - {{team: team-{team_a:02d}, role: edit}}
    - {{team: team-{team_b:02d}, role: view}}
    - {{user: reviewer-{index}@example.com, role: view}}
  agent:
    queues:
      - {{name: default, concurrency: {concurrency}}}
      - {{name: batch-{index}, concurrency: 1, nodePool: cpu}}
"""


def generate(root: Path, environments: int) -> None:
    """Write a repository of ``environments`` environments under ``root``."""
    (root / "clusters").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "platform.yaml").write_text(PLATFORM)
    for name, gpu in (("shared-a", ""), ("shared-b", ""), ("gpu-east", GPU_POOL), ("gpu-west", GPU_POOL)):
        (root / "clusters" / f"{name}.yaml").write_text(CLUSTER.format(name=name, gpu=gpu))
    (root / "teams.yaml").write_text("".join(TEAM.format(index=index) for index in range(20)))
    (root / "profiles.yaml").write_text(PROFILES)
    for index in range(environments):
        name = f"env-{index:04d}"
        if index % 5 == 0:  # replicated: the same environment on both GPU clusters
            extends, clusters = "gpu", ("gpu-east", "gpu-west")
        elif index % 5 == 1:
            extends, clusters = "standard, small", (("shared-a", "shared-b")[index % 2],)
        else:
            extends, clusters = "standard", (("shared-a", "shared-b")[index % 2],)
        targets = "".join(f"    - {{cluster: {cluster}, namespace: ml-{name}}}\n" for cluster in clusters)
        (root / "environments" / f"{name}.yaml").write_text(ENVIRONMENT.format(
            name=name, extends=extends, protected=str(index % 10 == 0).lower(), targets=targets,
            cpu=8 + index % 8, memory=32 + index % 4 * 16, cost_center=index % 30, team_a=index % 20,
            team_b=(index + 7) % 20, index=index, concurrency=1 + index % 4,
        ))


# -- measured in a fresh process -----------------------------------------------------------------------------------


def _yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml"))


def _safe_load_all(root: Path) -> dict[str, int]:
    documents = sum(len(list(yaml.safe_load_all(path.read_text()))) for path in _yaml_files(root))
    return {"documents": documents}


def _c_safe_loader(root: Path) -> dict[str, int]:
    documents = sum(len(list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader)))
                    for path in _yaml_files(root))
    return {"documents": documents}


def _reconciler(root: Path) -> dict[str, int]:
    landscape = load_landscape(root)
    rendered = render_landscape(landscape)
    return {"environments": len(landscape.environments), "targets": len(rendered),
            "objects": sum(len(objects) for objects in rendered.values())}


def measure(root: Path, mode: str, runs: int) -> dict[str, Any]:
    """Run ``mode`` on the repository at ``root`` in this process; the figures as a dict."""
    work: Callable[[Path], dict[str, int]] = {"safe_load_all": _safe_load_all, "CSafeLoader": _c_safe_loader,
                                              "reconciler": _reconciler}[mode]
    started, cpu_started = time.perf_counter(), time.process_time()
    counts = work(root)
    first, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    warm = []
    for _ in range(runs - 1):
        started = time.perf_counter()
        work(root)
        warm.append(time.perf_counter() - started)
    tracemalloc.start()
    work(root)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"mode": mode, "seconds": first, "cpu_seconds": cpu, "warm_seconds": min(warm) if warm else None,
            "max_rss_mb": max_rss / 1024, "traced_peak_mb": traced_peak / 2**20, **counts}


def _in_fresh_process(root: Path, mode: str, runs: int) -> dict[str, Any]:
    result = subprocess.run([sys.executable, __file__, "--measure", str(root), "--mode", mode, "--runs", str(runs)],
                            capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def _row(label: str, figures: dict[str, Any]) -> str:
    warm = f"{figures['warm_seconds']:.2f}" if figures["warm_seconds"] is not None else "-"
    return (f"{label:<14} {figures['mode']:<14} {figures['seconds']:>8.2f} {figures['cpu_seconds']:>8.2f} {warm:>8} "
            f"{figures['max_rss_mb']:>10.0f} {figures['traced_peak_mb']:>10.0f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="numbers of environments")
    parser.add_argument("--runs", type=int, default=3, help="runs per process (the first is cold)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.mode, args.runs)))
        return 0
    print(f"{'repository':<14} {'what':<14} {'cold s':>8} {'cpu s':>8} {'warm s':>8} {'max RSS MB':>10} "
          f"{'traced MB':>10}")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as temporary:
        for size in args.sizes:
            root = Path(temporary) / f"envs-{size}"
            generate(root, size)
            files = len(_yaml_files(root))
            results = {mode: _in_fresh_process(root, mode, args.runs) for mode in MODES}
            ours = results["reconciler"]
            label = f"{size} envs"
            for mode in MODES:
                print(_row(label, results[mode]))
                label = f"{files} files"
            print(f"{'':<14} -> {ours['targets']} targets, {ours['objects']} objects rendered")
            if size == 1000:
                ok = ours["seconds"] < TARGET_SECONDS and ours["max_rss_mb"] < TARGET_MEGABYTES
                verdicts.append(f"1,000 environments: {ours['seconds']:.2f} s, {ours['max_rss_mb']:.0f} MB max RSS "
                                f"(target: under {TARGET_SECONDS:.0f} s and {TARGET_MEGABYTES:.0f} MB): "
                                + ("met" if ok else "MISSED"))
    for verdict in verdicts:
        print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
