"""Where a cold converge's CPU goes: the reconciler's own stages run in-process, one after the other, on one API server.

A cold converge of N generated targets (the repository of bench/converge.py) is taken apart into what ``reconciler
apply`` does in order: load and validate the repository, render, read the cluster and plan (LISTs, inventories),
dry-run every write (``converge.preflight``), then write (inventories, objects, prune, health). Each stage is reported
in CPU-seconds of this process (the client) and of kube-apiserver + etcd, with its wall time and the requests it sent.
With ``--repeat N`` the dry run is sent N more times, alternating with the dry run of every object by apply, so the
two are compared on one server under the same load.

    nice .venv/bin/python bench/cold_split.py [--sizes 300,1000] [--in-flight 32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.converge import generate  # noqa: E402
from bench.cost import server_cpu  # noqa: E402
from bench.dry_run_cost import api_server  # noqa: E402
from reconciler.config import load_landscape  # noqa: E402
from reconciler.converge import cluster, engine, preflight  # noqa: E402
from reconciler.converge.options import ConvergeOptions  # noqa: E402
from reconciler.converge.results import ClusterResult  # noqa: E402
from reconciler.kube.client import ClusterClient  # noqa: E402
from reconciler.kube.connect import connect  # noqa: E402
from reconciler.plan import inventory as inv  # noqa: E402
from reconciler.plan.cluster import ClusterPlan  # noqa: E402
from reconciler.render import render_target  # noqa: E402

T = TypeVar("T")
Row = tuple[str, float, float, float, int]  # stage, client CPU-s, server CPU-s, wall s, requests


def split(size: int, in_flight: int, repeat: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix=f"bench-split-{size}-") as work:
        return _split(Path(work), size, in_flight, repeat)


def _split(work: Path, size: int, in_flight: int, repeat: int) -> list[Row]:
    rows: list[Row] = []
    repo = generate(work / "repo", size, "s")
    with api_server(work / "cluster") as env:
        client: ClusterClient | None = None

        def stage(name: str, run: Callable[[], T]) -> T:
            server, own, start, sent = server_cpu(env), time.process_time(), time.perf_counter(), _sent(client)
            value = run()
            rows.append((name, time.process_time() - own, server_cpu(env) - server, time.perf_counter() - start,
                         _sent(client) - sent))
            return value

        options = ConvergeOptions(revision="split", workers=in_flight)
        landscape = stage("load + validate", lambda: load_landscape(repo))
        stage("render", lambda: [render_target(t, landscape) for t in landscape.targets])
        client = connect(landscape.clusters["bench"], env.kubeconfig)
        plan = stage("read + plan (render again)", lambda: cluster.plan_cluster(
            client, landscape, landscape.targets, options.planning(landscape), scoped=False))
        stage("system namespace", lambda: client.apply(inv.system_namespace()))
        failures = stage("dry run", lambda: preflight.check(client, plan.targets, in_flight))
        assert not failures, failures
        for _ in range(repeat):  # a dry run changes nothing: the same one again, and as it was sent before
            stage("dry run again", lambda: preflight.check(client, plan.targets, in_flight))
            stage("dry run again, every object by apply", lambda: _by_apply_only(client, plan, in_flight))
        prepared = cluster.Prepared(client, ClusterResult.of(plan), plan, (), scratch=True)
        results = stage("write", lambda: engine.execute([prepared], landscape, options, lambda _: None))
        assert all(r.ok for r in results), [r.errors for r in results]
        client.close()
    return rows


def _by_apply_only(client: ClusterClient, plan: ClusterPlan, in_flight: int) -> None:
    """The preflight as it was before new objects were dry-run as creates."""
    kinds, preflight.CREATE_CHECKED = preflight.CREATE_CHECKED, frozenset()
    try:
        assert not preflight.check(client, plan.targets, in_flight)
    finally:
        preflight.CREATE_CHECKED = kinds


def _sent(client: ClusterClient | None) -> int:
    return client.reads + client.writes if client is not None else 0


def table(size: int, rows: list[Row]) -> str:
    lines = [f"{size:,} targets", "", "| stage | client CPU-s | server CPU-s | wall s | requests |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {own:.2f} | {server:.2f} | {wall:.2f} | {sent:,} |"
              for name, own, server, wall, sent in rows]
    once = [row for row in rows if "again" not in row[0]]  # one converge's stages, not the repeated dry runs
    total: list[Any] = [sum(row[i] for row in once) for i in range(1, 5)]
    lines.append(f"| one converge | {total[0]:.2f} | {total[1]:.2f} | {total[2]:.2f} | {total[3]:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="300,1000")
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=0, help="dry-run again this many times, alternating with a "
                        "dry run of every object by apply (as before new objects were dry-run as creates)")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        print(table(size, split(size, args.in_flight, args.repeat)) + "\n", flush=True)


if __name__ == "__main__":
    main()
