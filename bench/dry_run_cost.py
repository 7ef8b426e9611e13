"""What one dry run costs the API server, by request: server-side apply against a create, per kind.

The reconciler dry-runs every object it will write before its first write (a bad revision changes nothing). On a
cold cluster every object is new, so the dry run can be a server-side apply (``PATCH`` with
``application/apply-patch+yaml``) or a create (``POST`` with ``fieldValidation=Strict``). This sends the rendered
objects of N targets both ways, per kind, each way in the scratch namespace (namespaced objects moved to
``reconciler-system``, as the preflight does for a namespace that does not exist yet) and in their own namespaces
(created first), and, for scale, writes them for real with server-side apply and with a create. Rounds alternate
the requests, so a warming cache favours none; the figures are the medians, in milliseconds of kube-apiserver +
etcd CPU per object (and the client's, this process's).

    nice .venv/bin/python bench/dry_run_cost.py [--targets 300] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.converge import generate  # noqa: E402
from bench.cost import server_cpu  # noqa: E402
from reconciler.config import load_landscape  # noqa: E402
from reconciler.config.model import FIELD_MANAGER  # noqa: E402
from reconciler.kube.client import ClusterClient, Object  # noqa: E402
from reconciler.kube.connect import connect  # noqa: E402
from reconciler.kube.resources import resource_for  # noqa: E402
from reconciler.plan import inventory as inv  # noqa: E402
from reconciler.render import render_target  # noqa: E402
from reconciler.render.objects import APPLY_ORDER  # noqa: E402
from testenv import build, controlplane  # noqa: E402

Send = Callable[[ClusterClient, Object], Any]
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
Figures = dict[tuple[str, str], list[tuple[float, float]]]  # (way, kind): (server, client) CPU-ms per object, per round


@contextlib.contextmanager
def api_server(directory: Path) -> Iterator[controlplane.TestEnv]:
    """One API server and its etcd, nothing else (as bench/converge.py measures); binaries already built are used
    as they are, without waiting for a build of the others."""
    binaries = build.find() or build.ensure(lambda _: None)
    env = controlplane.up(["bench"], directory, log=lambda _: None, binaries=dataclasses.replace(
        binaries, kube_controller_manager=None, kube_scheduler=None, kwok=None))
    try:
        yield env
    finally:
        controlplane.down(env)


def apply(dry_run: bool, accept: str = "application/json") -> Send:
    def send(client: ClusterClient, obj: Object) -> Any:
        query = {"fieldManager": FIELD_MANAGER, "force": "true", **({"dryRun": "All"} if dry_run else {})}
        path = resource_for(obj["kind"]).object_path(obj["metadata"].get("namespace"), obj["metadata"]["name"])
        return client.request("PATCH", path, "apply", query=query, body=obj, accept=accept,
                              content_type="application/apply-patch+yaml")
    return send


def create(dry_run: bool, accept: str = "application/json") -> Send:
    def send(client: ClusterClient, obj: Object) -> Any:
        query = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict", **({"dryRun": "All"} if dry_run else {})}
        path = resource_for(obj["kind"]).collection_path(obj["metadata"].get("namespace"))
        return client.request("POST", path, "create", query=query, body=obj, accept=accept)
    return send


def scratch(obj: Object) -> Object:
    if not obj["metadata"].get("namespace"):
        return obj
    return {**obj, "metadata": {**obj["metadata"], "namespace": inv.SYSTEM_NAMESPACE}}


def renamed(obj: Object, suffix: str) -> Object:
    """Another object of the same content: a Namespace that does not exist yet, a second copy for the real create."""
    return {**obj, "metadata": {**obj["metadata"], "name": obj["metadata"]["name"] + suffix}}


def own(obj: Object) -> Object:
    """In its own namespace, which exists by then (a Namespace itself under a new name)."""
    return renamed(obj, "-n") if obj["kind"] == "Namespace" else obj


def cost(client: ClusterClient, env: controlplane.TestEnv, send: Send, objects: list[Object],
         concurrency: int) -> tuple[float, float]:
    """(server, client) CPU-milliseconds per object of sending every object once."""
    server, own = server_cpu(env), time.process_time()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda obj: send(client, obj), objects))
    count = max(1, len(objects))
    return (server_cpu(env) - server) * 1000 / count, (time.process_time() - own) * 1000 / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dry-run-") as work:
        print(table(*measured(Path(work), args), args))


def measured(work: Path, args: argparse.Namespace) -> tuple[Figures, dict[str, int]]:
    """Every way's costs per kind, and how many objects of each kind the targets have."""
    landscape = load_landscape(generate(work / "repo", args.targets, "d"))
    by_kind: dict[str, list[Object]] = defaultdict(list)
    for target in landscape.targets:
        for obj in render_target(target, landscape):
            by_kind[obj["kind"]].append(obj)
    kinds = [kind for kind in APPLY_ORDER if kind in by_kind]
    with api_server(work / "cluster") as env:
        client = connect(landscape.clusters["bench"], env.kubeconfig)
        client.apply(inv.system_namespace())
        figures: Figures = defaultdict(list)

        def measure(way: str, send: Send, place: Callable[[Object], Object]) -> None:
            for kind in kinds:
                figures[(way, kind)].append(cost(client, env, send, [place(o) for o in by_kind[kind]],
                                                 args.concurrency))

        for _ in range(args.rounds):
            measure("apply dry-run, scratch", apply(True), scratch)
            measure("create dry-run, scratch", create(True), scratch)
            measure("apply dry-run, scratch, metadata answer", apply(True, METADATA), scratch)
            measure("create dry-run, scratch, metadata answer", create(True, METADATA), scratch)
        for obj in by_kind["Namespace"]:
            client.apply(obj)
        for _ in range(args.rounds):
            measure("apply dry-run, own namespace", apply(True), own)
            measure("create dry-run, own namespace", create(True), own)
        measure("apply (written)", apply(False), lambda o: o if o["kind"] != "Namespace" else renamed(o, "-a"))
        measure("create (written)", create(False), lambda o: renamed(o, "-c"))
        measure("apply (written), metadata answer", apply(False, METADATA), lambda o: renamed(o, "-m"))
        client.close()
    return figures, {kind: len(by_kind[kind]) for kind in kinds}


def table(figures: Figures, counts: dict[str, int],
          args: argparse.Namespace) -> str:
    """Per kind and over every object (each kind weighed by how many objects of it a target has)."""
    kinds = list(counts)
    ways = list(dict.fromkeys(way for way, _ in figures))
    lines = [f"{args.targets} targets, {args.concurrency} in flight, median of {args.rounds} rounds "
             "(written: one round); server CPU-ms per object (client CPU-ms)", "",
             "| request | " + " | ".join(kinds) + " | all objects |", "|---|" + "---:|" * (len(kinds) + 1)]
    for way in ways:
        cells, total, client_total = [], 0.0, 0.0
        for kind in kinds:
            server = statistics.median(s for s, _ in figures[(way, kind)])
            client = statistics.median(c for _, c in figures[(way, kind)])
            cells.append(f"{server:.2f} ({client:.2f})")
            total, client_total = total + server * counts[kind], client_total + client * counts[kind]
        count = sum(counts.values())
        lines.append(f"| {way} | " + " | ".join(cells) + f" | {total / count:.2f} ({client_total / count:.2f}) |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
