"""The physical limit: a minimal concurrent server-side-apply writer of rendered objects.

No reading, planning, dry run, inventory or fencing: each target's objects (bodies serialised once, before the
clock starts) are sent in dependency order over one pooled connection set, targets interleaved over CONCURRENCY
threads. Whatever the reconciler costs beyond this writer is its own overhead.

    .venv/bin/python bench/limit.py RENDERED_DIR KUBECONFIG CONTEXT CONCURRENCY
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

from reconciler.kube.resources import resource_for  # noqa: E402
from reconciler.render.objects import APPLY_ORDER  # noqa: E402

Request = tuple[str, bytes]  # path with query, body


def requests_per_target(rendered: Path) -> list[list[Request]]:
    """Each target's apply requests in dependency order (Namespace first, Deployment last)."""
    targets: dict[str, list[dict[str, object]]] = defaultdict(list)
    for file in sorted(rendered.rglob("*.yaml")):
        for obj in yaml.safe_load_all(file.read_text()):
            if obj:
                meta = obj["metadata"]
                targets[meta.get("namespace") or meta["name"]].append(obj)
    order = {kind: i for i, kind in enumerate(APPLY_ORDER)}
    result = []
    for objects in targets.values():
        objects.sort(key=lambda o: order.get(str(o["kind"]), len(order)))
        result.append([(_path(o), json.dumps(o, separators=(",", ":")).encode()) for o in objects])
    return result


def _path(obj: dict[str, object]) -> str:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    path = resource_for(str(obj["kind"])).object_path(meta.get("namespace"), meta["name"])
    return f"{path}?fieldManager=bench-limit&force=true"


def connection(kubeconfig: Path, context: str, concurrency: int) -> tuple[str, urllib3.PoolManager, str]:
    config = yaml.safe_load(kubeconfig.read_text())
    ctx = next(c["context"] for c in config["contexts"] if c["name"] == context)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == ctx["user"])
    data = cluster.get("certificate-authority-data")
    pool = urllib3.PoolManager(maxsize=concurrency, ca_certs=cluster.get("certificate-authority"),
                               ca_cert_data=base64.b64decode(data).decode() if data else None)
    return cluster["server"], pool, user["token"]


def write(kubeconfig: Path, context: str, concurrency: int, rendered: Path) -> int:
    targets = requests_per_target(rendered)
    server, pool, token = connection(kubeconfig, context, concurrency)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/apply-patch+yaml",
               "Accept": "application/json"}

    def one_target(requests: list[Request]) -> int:
        for path, body in requests:
            response = pool.request("PATCH", server + path, body=body, headers=headers)
            if response.status >= 300:
                raise SystemExit(f"{path}: HTTP {response.status}: {response.data[:500]!r}")
        return len(requests)

    with ThreadPoolExecutor(max_workers=concurrency) as threads:
        return sum(threads.map(one_target, targets))


if __name__ == "__main__":
    sent = write(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[1]))
    print(f"{sent} apply requests", file=sys.stderr)
