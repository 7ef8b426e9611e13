"""Converge benchmark on one real API server: the reconciler against the physical limit and kubectl.

For N environment targets it measures, in the same run and on the same server, cold converge, no-op reconcile and
one-change reconcile for `reconciler apply`, for the minimal concurrent server-side-apply writer of bench/limit.py
(the limit: the same rendered objects, at the best of several concurrencies) and optionally for
`kubectl apply --server-side -R -f` (slow: over half an hour at 1,000 targets). Each tool gets its own namespaces,
so each starts cold. Every phase is reported in CPU-seconds (client + kube-apiserver + etcd) and wall time, and as
a ratio to each baseline; the write requests are those the API server counted (apiserver_request_total).

    .venv/bin/python bench/converge.py [--sizes 200,1000] [--phases cold,no-op,one-change]
        [--baselines limit,kubectl] [--concurrency 4,8,16,32] [--readme] [--keep]

The control plane runs without a controller manager so that only the clients load the server. --readme rewrites
the table between the bench:converge markers of README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cost import Cost, measure  # noqa: E402
from testenv import build, controlplane  # noqa: E402

RECONCILER = [sys.executable, "-m", "reconciler.cli"]
LIMIT = [sys.executable, str(ROOT / "bench" / "limit.py")]
PHASES = ("cold", "no-op", "one-change")
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:converge -->", "<!-- /bench:converge -->"
Runs = dict[str, Cost]

HEADER = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {{name: {platform}}}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {{namespace: polyaxon}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: bench}}
spec:
  connection: {{context: bench}}
  nodePools:
    cpu: {{nodeSelector: {{pool: cpu}}}}
    a100:
      gpu: true
      nodeSelector: {{gpu: a100}}
      tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: research}}
spec: {{groups: ["oidc:ml-research"]}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: platform}}
spec: {{groups: ["oidc:platform"]}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {{name: standard}}
spec:
  quota: {{cpu: "16", memory: 64Gi, gpu: 2, pods: 100}}
  limits: {{defaultRequest: {{cpu: 250m, memory: 512Mi}}, default: {{cpu: "1", memory: 2Gi}}}}
  network: isolated
  access: [{{team: platform, role: admin}}, {{team: research, role: edit}}]
  agent:
    image: polyaxon/polyaxon-agent:2.15.1
    nodePool: cpu
    tokenSecret: {{name: agent-token}}
    queues:
      - {{name: default, concurrency: 4, nodePool: cpu}}
      - {{name: training, concurrency: 2, nodePool: a100}}
"""

ENVIRONMENT = """---
apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: env-{i:04d}}}
spec:
  extends: [standard]
  targets: [{{cluster: bench, namespace: {prefix}-{i:04d}}}]
  quota: {{gpu: {gpu}}}
"""


def generate(directory: Path, size: int, prefix: str, changed: int | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "platform.yaml").write_text(HEADER.format(platform=f"bench-{prefix}"))
    environments = "".join(
        ENVIRONMENT.format(i=i, prefix=prefix, gpu=3 if i == changed else 2) for i in range(size)
    )
    (directory / "environments.yaml").write_text(environments)
    return directory


def _render(repo: Path, rendered: Path) -> None:
    shutil.rmtree(rendered, ignore_errors=True)
    subprocess.run([*RECONCILER, "render", str(repo), "--out", str(rendered)], check=True, capture_output=True)


def _phases(repo: Path, size: int, prefix: str, phases: list[str], run: Callable[[], Cost],
            before: Callable[[], None] = lambda: None) -> Runs:
    """cold and no-op on the generated repository, then one-change with one environment's GPU quota raised."""
    results: Runs = {}
    for phase in PHASES:
        if phase == "one-change":
            generate(repo, size, prefix, changed=size // 2)
        before()
        if phase in phases or phase == "cold":
            results[phase] = run()  # a later phase needs the cold converge done, measured or not
    return {phase: cost for phase, cost in results.items() if phase in phases}


def reconciler_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str]) -> Runs:
    repo = generate(work / "ours", size, "r")
    apply = [*RECONCILER, "apply", str(repo), "--kubeconfig", str(env.kubeconfig), "-o", "json"]
    return _phases(repo, size, "r", phases, lambda: measure(env, apply))


def limit_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str],
               levels: list[int]) -> tuple[Runs, int]:
    """The minimal writer at each concurrency (each on namespaces of its own, cold); the best wall time wins and
    goes on to the later phases."""
    tried: dict[int, tuple[Cost, Path, list[str]]] = {}
    for level in levels:
        prefix = f"l{level}"
        repo = generate(work / prefix, size, prefix)
        rendered = work / f"{prefix}-rendered"
        command = [*LIMIT, str(rendered), str(env.kubeconfig), "bench", str(level)]
        _render(repo, rendered)
        tried[level] = (measure(env, command), repo, command)
        cost = tried[level][0]
        print(f"  limit writer, concurrency {level}: {cost.wall:.2f} s, {cost.cpu:.2f} CPU-s", file=sys.stderr)
    level = min(tried, key=lambda one: tried[one][0].wall)
    cold, repo, command = tried[level]
    runs: Runs = {"cold": cold}
    if "no-op" in phases:
        runs["no-op"] = measure(env, command)
    if "one-change" in phases:
        generate(repo, size, repo.name, changed=size // 2)
        _render(repo, Path(command[len(LIMIT)]))
        runs["one-change"] = measure(env, command)
    return {p: c for p, c in runs.items() if p in phases}, level


def kubectl_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str]) -> Runs:
    repo = generate(work / "theirs", size, "k")
    rendered = work / "rendered"
    apply = ["kubectl", "--kubeconfig", str(env.kubeconfig), "--context", "bench", "apply", "--server-side",
             "--field-manager=bench-kubectl", "-R", "-f", str(rendered)]
    return _phases(repo, size, "k", phases, lambda: measure(env, apply), before=lambda: _render(repo, rendered))


def _ratio(ours: Cost, base: Cost | None) -> str:
    if base is None:
        return "n/a"
    cpu = ours.cpu / base.cpu if base.cpu else 0.0
    wall = ours.wall / base.wall if base.wall else 0.0
    return f"{cpu:.2f}x / {wall:.2f}x"


def table(rows: list[tuple[int, str, Cost, Cost | None, Cost | None]], concurrency: dict[int, int]) -> str:
    lines = ["| targets | phase | reconciler CPU-s (client + server) | wall s | writes | limit writer CPU-s | "
             "wall s | vs limit (CPU / wall) | kubectl CPU-s | wall s | vs kubectl (CPU / wall) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size, phase, ours, limit, kubectl in rows:
        def cells(cost: Cost | None) -> str:
            return f"{cost.cpu:.1f} | {cost.wall:.1f}" if cost else "n/a | n/a"
        lines.append(f"| {size:,} (limit at {concurrency.get(size, 0)} threads) | {phase} | "
                     f"{ours.client_cpu:.1f} + {ours.server_cpu:.1f} | {ours.wall:.1f} | {ours.writes:,} | "
                     f"{cells(limit)} | {_ratio(ours, limit)} | {cells(kubectl)} | {_ratio(ours, kubectl)} |")
    return "\n".join(lines)


def rewrite_readme(text: str, command: str) -> None:
    readme = README.read_text()
    start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
    README.write_text(f"{readme[:start]}\nMeasured with `{command}`:\n\n{text}\n{readme[end:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000", help="comma-separated numbers of environment targets")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--baselines", default="limit", help="comma-separated, of limit, kubectl (kubectl is slow)")
    parser.add_argument("--concurrency", default="4,8,16,32", help="the minimal writer's concurrencies to try")
    parser.add_argument("--readme", action="store_true", help="rewrite the results table in README.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the server's logs")
    args = parser.parse_args()
    phases = [p for p in args.phases.split(",") if p]
    baselines = set(args.baselines.split(",")) - {""}
    unknown = (set(phases) - set(PHASES)) | (baselines - {"limit", "kubectl"})
    if unknown:
        parser.error(f"unknown phase or baseline: {', '.join(sorted(unknown))}")
    # The API server alone, as measured before nodes existed: no controllers, scheduler or simulated nodes.
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    rows: list[tuple[int, str, Cost, Cost | None, Cost | None]] = []
    concurrency: dict[int, int] = {}
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"bench-converge-{size}-"))
        env = controlplane.up(["bench"], work / "cluster", binaries=binaries, log=lambda _: None)
        limit: Runs = {}
        kubectl: Runs = {}
        try:
            print(f"N={size}: reconciler ...", file=sys.stderr, flush=True)
            ours = reconciler_runs(env, work, size, phases)
            if "limit" in baselines:
                print(f"N={size}: minimal writer ...", file=sys.stderr, flush=True)
                limit, concurrency[size] = limit_runs(env, work, size, phases,
                                                      [int(c) for c in args.concurrency.split(",")])
            if "kubectl" in baselines:
                print(f"N={size}: kubectl apply --server-side ...", file=sys.stderr, flush=True)
                kubectl = kubectl_runs(env, work, size, phases)
        finally:
            controlplane.down(env, keep=args.keep)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        rows.extend((size, phase, ours[phase], limit.get(phase), kubectl.get(phase)) for phase in phases)
    text = table(rows, concurrency)
    print(text)
    if args.readme:
        rewrite_readme(text, "python bench/converge.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
