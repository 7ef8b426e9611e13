"""The physical limit: a minimal concurrent server-side-apply writer of rendered objects.

No reading, planning, dry run, inventory or fencing: each target's objects (bodies serialised once, before the
clock starts) are sent in dependency order over one pooled connection set, targets interleaved over CONCURRENCY
threads. Whatever the reconciler costs beyond this writer is its own overhead.

With ``--dry-run-first`` it also keeps the reconciler's rule that a bad revision changes nothing: every object is
first sent as a server-side dry run (objects of a namespace that does not exist yet in ``default``, as the
reconciler moves them to its own system namespace), and only then written. Each dry run is the cheapest request
that checks what the write will: a create for the kinds ``reconciler.converge.preflight`` dry-runs that way, an
apply for the others. That is the limit of any writer that checks a whole revision with the API server before its
first write.

    .venv/bin/python bench/limit.py RENDERED_DIR KUBECONFIG CONTEXT CONCURRENCY [--dry-run-first]
"""

from __future__ import annotations

import base64
import json
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.converge.preflight import CREATE_CHECKED  # noqa: E402
from reconciler.kube.resources import resource_for  # noqa: E402
from reconciler.render.objects import APPLY_ORDER  # noqa: E402

Request = tuple[str, str, bytes]  # method, path with query, body
SCRATCH = "default"


def read_targets(rendered: Path) -> list[list[dict[str, object]]]:
    """Each target's rendered objects (libyaml's parser where built in: reading is not what is measured)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    targets: dict[str, list[dict[str, object]]] = defaultdict(list)
    for file in sorted(rendered.rglob("*.yaml")):
        for obj in yaml.load_all(file.read_text(), Loader=loader):
            if obj:
                meta = obj["metadata"]
                targets[meta.get("namespace") or meta["name"]].append(obj)
    return list(targets.values())


def requests_per_target(targets: list[list[dict[str, object]]], dry_run: bool = False) -> list[list[Request]]:
    """Each target's requests in dependency order (Namespace first, Deployment last): applies, or dry runs with
    namespaced objects moved to an existing namespace."""
    order = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    result = []
    for objects in targets:
        objects.sort(key=lambda o: order.get(str(o["kind"]), len(order)))
        if dry_run:
            objects = [_moved(o) for o in objects]
        result.append([(*_target(o, dry_run), json.dumps(o, separators=(",", ":")).encode()) for o in objects])
    return result


def _moved(obj: dict[str, object]) -> dict[str, object]:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    return {**obj, "metadata": {**meta, "namespace": SCRATCH}} if meta.get("namespace") else obj


def _target(obj: dict[str, object], dry_run: bool = False) -> tuple[str, str]:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    resource = resource_for(str(obj["kind"]))
    if dry_run and obj["kind"] in CREATE_CHECKED:
        return "POST", f"{resource.collection_path(meta.get('namespace'))}?fieldValidation=Strict&dryRun=All"
    path = resource.object_path(meta.get("namespace"), meta["name"])
    return "PATCH", f"{path}?fieldManager=bench-limit&force=true" + ("&dryRun=All" if dry_run else "")


def connection(kubeconfig: Path, context: str, concurrency: int) -> tuple[str, urllib3.PoolManager, str]:
    config = yaml.safe_load(kubeconfig.read_text())
    ctx = next(c["context"] for c in config["contexts"] if c["name"] == context)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
    data = cluster.get("certificate-authority-data")
    pool = urllib3.PoolManager(maxsize=concurrency, ca_certs=cluster.get("certificate-authority"),
                               ca_cert_data=base64.b64decode(data).decode() if data else None)
    return cluster["server"], pool, user["token"]


def write(kubeconfig: Path, context: str, concurrency: int, rendered: Path, dry_run_first: bool = False) -> int:
    objects = read_targets(rendered)
    targets = requests_per_target(objects)
    checks = requests_per_target(objects, dry_run=True) if dry_run_first else []
    server, pool, token = connection(kubeconfig, context, concurrency)
    apply = {"Authorization": f"Bearer {token}", "Content-Type": "application/apply-patch+yaml",
             "Accept": "application/json"}
    create = {**apply, "Content-Type": "application/json"}

    def one_target(requests: list[Request]) -> int:
        for method, path, body in requests:
            headers = create if method == "POST" else apply
            response = pool.request(method, server + path, body=body, headers=headers)
            if response.status >= 300:
                raise SystemExit(f"{path}: HTTP {response.status}: {response.data[:500]!r}")
        return len(requests)

    with ThreadPoolExecutor(max_workers=concurrency) as threads:
        checked = sum(threads.map(one_target, checks))
        return checked + sum(threads.map(one_target, targets))


if __name__ == "__main__":
    sent = write(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[1]), "--dry-run-first" in sys.argv)
    print(f"{sent} requests", file=sys.stderr)
