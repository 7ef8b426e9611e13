"""Benchmark of validate + render on a generated environments repository of N environments.

For each N (default 1,000 and 10,000) the script writes a realistic repository into a temporary folder: a Platform,
four clusters (two shared CPU clusters, two GPU clusters with tainted GPU pools), twenty teams, three profiles (one
extending another) and one file per environment; every fifth environment is replicated onto two GPU clusters.
Then, each in a fresh process so that figures do not mix, side by side in one run:

* ``reconciler``: read, validate (schemas), resolve (profiles, references) and render every target, as
  ``reconciler render`` does;
* ``jsonschema``: the same with every document validated by jsonschema alone and no schema results kept (the
  validation of the code before the compiled check);
* ``--baseline-rev REV``: the same as ``reconciler`` with the code of git revision REV (extracted with
  ``git archive`` into a temporary folder: the work tree is not touched), e.g. the commit before an optimisation;
* with ``--yaml``, reading YAML without any validation: ``yaml.safe_load_all`` (pure Python) and
  ``yaml.load_all(Loader=CSafeLoader)`` (the C loader the reconciler builds on).

Each line gives CPU-seconds (user + system of the process, which hardly depend on how busy the machine is), wall
seconds and the peak resident set (``resource.getrusage``) of the first, cold run in the process, and ratios to each
baseline. ``--runs`` repeats the work and reports the best warm wall time; ``--traced`` adds the peak of Python
allocations (``tracemalloc``) in one more, traced run.

    .venv/bin/python bench/render.py [--sizes 1000 10000] [--baseline-rev HEAD~3] [--runs 1] [--yaml] [--traced]
"""

from __future__ import annotations

import argparse
import json
import os
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

TARGET_CPU_RATIO = 0.5  # issue 13: under half of today's CPU-seconds
TARGET_MEGABYTES = 300.0
YAML_MODES = ("safe_load_all", "CSafeLoader")

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


def _validate_and_render(jsonschema_only: bool) -> Callable[[Path], dict[str, int]]:
    """``reconciler render``'s work; imported here, before timing (the CLI pays the imports once), and from the
    code that ``--code`` put first on the path."""
    from reconciler.config import landscape_from, load_landscape, schema
    from reconciler.config.load import load_repository
    from reconciler.render import render_landscape

    def work(root: Path) -> dict[str, int]:
        if jsonschema_only:
            schema.COMPILE_AFTER = sys.maxsize  # type: ignore[attr-defined,unused-ignore]
            landscape = landscape_from(load_repository(root), results=None)  # type: ignore[call-arg,unused-ignore]
        else:
            landscape = load_landscape(root)
        rendered = render_landscape(landscape)
        return {"environments": len(landscape.environments), "targets": len(rendered),
                "objects": sum(len(objects) for objects in rendered.values())}

    return work


def _work(mode: str) -> Callable[[Path], dict[str, int]]:
    if mode == "safe_load_all":
        return _safe_load_all
    if mode == "CSafeLoader":
        return _c_safe_loader
    return _validate_and_render(jsonschema_only=mode == "jsonschema")


def measure(root: Path, mode: str, runs: int, traced: bool) -> dict[str, Any]:
    """Run ``mode`` on the repository at ``root`` in this process; the figures as a dict."""
    work = _work(mode)
    started, cpu_started = time.perf_counter(), os.times()
    counts = work(root)
    first, cpu = time.perf_counter() - started, os.times()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    warm = []
    for _ in range(runs - 1):
        started = time.perf_counter()
        work(root)
        warm.append(time.perf_counter() - started)
    traced_peak = None
    if traced:
        tracemalloc.start()
        work(root)
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return {"mode": mode, "seconds": first, "warm_seconds": min(warm) if warm else None,
            "cpu_seconds": (cpu.user - cpu_started.user) + (cpu.system - cpu_started.system),
            "max_rss_mb": max_rss / 1024, "traced_peak_mb": traced_peak, **counts}


def _in_fresh_process(root: Path, mode: str, args: argparse.Namespace, code: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", str(root), "--mode", mode, "--runs", str(args.runs),
               "--code", str(code), *(["--traced"] if args.traced else [])]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    figures: dict[str, Any] = json.loads(result.stdout)
    return figures


def _row(label: str, figures: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> str:
    warm = f"{figures['warm_seconds']:.2f}" if figures["warm_seconds"] is not None else "-"
    traced = f"{figures['traced_peak_mb']:.0f}" if figures["traced_peak_mb"] is not None else "-"
    ratios = "  ".join(f"{base['cpu_seconds'] and figures['cpu_seconds'] / base['cpu_seconds']:.2f}x/"
                       f"{figures['max_rss_mb'] / base['max_rss_mb']:.2f}x vs {name}"
                       for name, base in baselines.items() if base is not figures)
    return (f"{label:<14} {figures['mode']:<22} {figures['cpu_seconds']:>7.2f} {figures['seconds']:>7.2f} "
            f"{warm:>7} {figures['max_rss_mb']:>8.0f} {traced:>8}  {ratios}")


def _size(root: Path, size: int, args: argparse.Namespace, codes: dict[str, Path]) -> list[str]:
    generate(root, size)
    modes = [*(YAML_MODES if args.yaml else ()), *codes]
    results = {name: _in_fresh_process(root, name if name in YAML_MODES else name.partition("@")[0],
                                       args, codes.get(name, ROOT)) for name in modes}
    for name, figures in results.items():
        figures["mode"] = name
    baselines = {name: figures for name, figures in results.items() if name != "reconciler"
                 and name not in YAML_MODES}
    ours = results["reconciler"]
    label, files = f"{size:,} envs", len(_yaml_files(root))
    for figures in results.values():
        print(_row(label, figures, baselines))
        label = f"{files:,} files"
    print(f"{'':<14} -> {ours['targets']:,} targets, {ours['objects']:,} objects rendered")
    verdicts = []
    for name, base in baselines.items():
        ratio = ours["cpu_seconds"] / base["cpu_seconds"]
        met = ratio < TARGET_CPU_RATIO and ours["max_rss_mb"] < TARGET_MEGABYTES
        verdicts.append(f"{size:,} environments: {ours['cpu_seconds']:.2f} CPU-s = {ratio:.2f}x {name}, "
                        f"{ours['max_rss_mb']:.0f} MB peak RSS (target: under {TARGET_CPU_RATIO}x and "
                        f"{TARGET_MEGABYTES:.0f} MB): " + ("met" if met else "MISSED"))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="numbers of environments")
    parser.add_argument("--runs", type=int, default=1, help="runs per process (the first is cold)")
    parser.add_argument("--baseline-rev", help="also measure the code of this git revision (e.g. HEAD~3)")
    parser.add_argument("--yaml", action="store_true", help="also measure reading YAML alone")
    parser.add_argument("--traced", action="store_true", help="also trace the peak of Python allocations")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.code))
        print(json.dumps(measure(args.measure, args.mode, args.runs, args.traced)))
        return 0
    print(f"{'repository':<14} {'what':<22} {'CPU s':>7} {'wall s':>7} {'warm s':>7} {'RSS MB':>8} {'traced':>8}  "
          "CPU / RSS ratios")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as temporary:
        codes = {"reconciler": ROOT, "jsonschema": ROOT}
        if args.baseline_rev:
            sys.path.insert(0, str(ROOT))  # only here: a measuring process imports the code it measures alone
            from bench.revision import extract

            codes[f"reconciler@{args.baseline_rev}"] = extract(args.baseline_rev, Path(temporary) / "baseline")
        for size in args.sizes:
            verdicts += _size(Path(temporary) / f"envs-{size}", size, args, codes)
    for verdict in verdicts:
        print(verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())
