"""Scale benchmark past one API server: N control planes on this machine, T environment targets spread over them.

One generated environments repository (the objects of bench/converge.py: 11 per target), its targets spread evenly
over N clusters, each cluster a kube-apiserver and etcd of its own (no controller manager: only the reconcilers
load the servers). Two topologies, each on fresh control planes so that both start cold:

- hub: one `reconciler apply` holding the credentials of every cluster converges them all;
- per-cluster: one `reconciler apply --cluster NAME` per cluster, run side by side, each with a kubeconfig of its
  own cluster only.

Each phase (cold converge, no-op, one change: one environment's GPU quota raised) is reported in wall time,
CPU-seconds of the reconcilers (their rusage) and of the servers (every kube-apiserver + etcd, from /proc), the
writes the API servers counted, and the peak resident memory of the reconciler processes (of the largest, and
summed over the processes of a topology) and of the servers.

    .venv/bin/python bench/scale.py [--clusters 10] [--targets 1000] [--topologies hub,per-cluster]
        [--phases cold,no-op,one-change] [--readme] [--keep]

--targets counts targets per cluster (default 10 x 1,000 = 10,000 in all). --readme rewrites the table between
the bench:scale markers of README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import fleet, readme, scale_repo  # noqa: E402
from bench.fleet import MIB, FleetCost  # noqa: E402
from testenv import build, controlplane  # noqa: E402

RECONCILER = [sys.executable, "-m", "reconciler.cli"]
PHASES = ("cold", "no-op", "one-change")
TOPOLOGIES = ("hub", "per-cluster")
Row = tuple[str, str, FleetCost, float]  # topology, phase, cost, the servers' idle CPU-seconds per second


def commands(topology: str, env: controlplane.TestEnv, repo: Path, work: Path) -> list[list[str]]:
    apply = [*RECONCILER, "apply", str(repo), "-o", "json"]
    if topology == "hub":
        return [[*apply, "--kubeconfig", str(env.kubeconfig)]]
    own = {name: fleet.kubeconfig_for(env, name, work / f"{name}.kubeconfig") for name in env.clusters}
    return [[*apply, "--cluster", name, "--kubeconfig", str(config)] for name, config in own.items()]


def topology_runs(topology: str, clusters: int, per_cluster: int, phases: list[str], binaries: build.Binaries,
                  keep: bool, rows: list[Row], measured: Callable[[], None]) -> None:
    """Fresh control planes, the cold converge (measured or not: later phases need it), then the chosen phases,
    each appended to ``rows`` and announced to ``measured`` as soon as it is done."""
    names = scale_repo.cluster_names(clusters)
    work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{topology}-"))
    repo = scale_repo.generate(work / "repo", names, per_cluster)
    print(f"{topology}: starting {clusters} control planes ...", file=sys.stderr, flush=True)
    env = controlplane.up(names, work / "clusters", binaries=binaries, timeout=300.0, log=lambda _: None)
    try:
        idle = fleet.idle_server_cpu(env)
        for phase in PHASES:
            if phase == "one-change":
                scale_repo.generate(repo, names, per_cluster, changed=len(names) * per_cluster // 2)
            if phase in phases or phase == "cold":
                print(f"{topology}: {phase} ...", file=sys.stderr, flush=True)
                result = fleet.run_together(env, commands(topology, env, repo, work))
                print(f"  {_summary(result)}", file=sys.stderr, flush=True)
                if phase in phases:
                    rows.append((topology, phase, result, idle))
                    measured()
    finally:
        controlplane.down(env, keep=keep)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def _summary(result: FleetCost) -> str:
    return (f"{result.wall:.1f} s, {result.client_cpu:.1f} + {result.server_cpu:.1f} CPU-s, {result.writes:,} writes, "
            f"peak {max(result.client_peak_rss) / MIB:.0f} MiB")


def memory() -> str:
    """The machine's memory now, to say whether the control planes fit."""
    fields = {k: int(v.split()[0]) * 1024 for k, v in
              (line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())}
    return f"{fields['MemAvailable'] / MIB / 1024:.1f} of {fields['MemTotal'] / MIB / 1024:.1f} GiB available"


def _mib(sizes: tuple[int, ...]) -> str:
    return f"{max(sizes) / MIB:,.0f} / {sum(sizes) / MIB:,.0f}"


def table(rows: list[Row], clusters: int, per_cluster: int, before: str) -> str:
    lines = ["| topology | phase | wall s | reconciler CPU-s | servers CPU-s (of which idle) | writes | "
             "reconciler peak RSS MiB (largest / all) | control plane peak RSS MiB (largest / all) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for topology, phase, result, idle in rows:
        processes = len(result.client_peak_rss)
        who = "1 process" if processes == 1 else f"{processes} processes"
        lines.append(f"| {topology} ({who}) | {phase} | {result.wall:.1f} | {result.client_cpu:.1f} | "
                     f"{result.server_cpu:.1f} ({idle * result.wall:.1f}) | {result.writes:,} | "
                     f"{_mib(result.client_peak_rss)} | {_mib(result.server_peak_rss)} |")
    return (f"{clusters} clusters x {per_cluster:,} targets = {clusters * per_cluster:,} targets "
            f"({clusters * per_cluster * scale_repo.OBJECTS_PER_TARGET:,} objects);\nmachine memory before the control "
            f"planes started: {before}.\n\n" + "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10, help="number of control planes (default 10)")
    parser.add_argument("--targets", type=int, default=1000, help="environment targets per cluster (default 1000)")
    parser.add_argument("--topologies", default=",".join(TOPOLOGIES),
                        help=f"comma-separated, of {', '.join(TOPOLOGIES)}")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--readme", action="store_true", help="rewrite the results table in README.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directories and the servers' logs")
    args = parser.parse_args()
    topologies = [t for t in args.topologies.split(",") if t]
    phases = [p for p in args.phases.split(",") if p]
    unknown = (set(topologies) - set(TOPOLOGIES)) | (set(phases) - set(PHASES))
    if unknown:
        parser.error(f"unknown topology or phase: {', '.join(sorted(unknown))}")
    if args.clusters < 1 or args.targets < 1:
        parser.error("--clusters and --targets must be at least 1")
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    # SIGTERM (a long run stopped) unwinds like Ctrl-C, so every control plane started is stopped again.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    before = memory()
    rows: list[Row] = []
    wanted = [f"{topology} {phase}" for topology in topologies for phase in phases]

    def measured() -> None:  # after every phase, so that a long run that is stopped keeps what it measured
        text = table(rows, args.clusters, args.targets, before)
        if len(rows) < len(wanted):
            text += f"\n\n(Not yet measured when this was written: {', '.join(wanted[len(rows):])}.)"
        if args.readme:
            readme.rewrite("scale", text)

    for topology in topologies:
        topology_runs(topology, args.clusters, args.targets, phases, binaries, args.keep, rows, measured)
    text = table(rows, args.clusters, args.targets, before)
    print(text)
    print(f"load average {os.getloadavg()[0]:.1f} at the end", file=sys.stderr)


if __name__ == "__main__":
    main()
