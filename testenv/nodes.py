"""Simulated nodes: pools with counts, labels, taints and capacity, per cluster, created as kwok-managed Nodes.

A description is YAML (or JSON)::

    clusters:
      gpu:
        pools:
          - {name: a100, count: 2, labels: {gpu: a100}, capacity: {cpu: "32", nvidia.com/gpu: "8"},
             taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]}

``testenv/nodes.yaml`` is the default: the node pools of ``sample-repo/clusters``. A cluster the description does
not name gets one node without labels or taints, on which everything runs.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from testenv import kwok

DEFAULT = Path(__file__).resolve().parent / "nodes.yaml"
POOL_LABEL = "testenv.reconciler.dev/pool"
# A session's tests leave well over a hundred environments with their agents on the shared cluster's one CPU node
# (namespaces are never deleted implicitly): 110 pods, a kubelet's default, filled it and left later agents Pending.
BASE_CAPACITY = {"cpu": "64", "memory": "256Gi", "pods": "1000", "ephemeral-storage": "500Gi"}


@dataclass(frozen=True)
class Pool:
    name: str
    count: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, str], ...] = ()
    capacity: dict[str, str] = field(default_factory=dict)


class DescriptionError(ValueError):
    """A node description that cannot be used; the message names the file and the entry."""


def load(path: Path = DEFAULT) -> dict[str, tuple[Pool, ...]]:
    """Pools per cluster name from a description file."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise DescriptionError(f"{path}: cannot read the node description: {error}") from error
    clusters = data.get("clusters") if isinstance(data, dict) else None
    if not isinstance(clusters, dict):
        raise DescriptionError(f"{path}: expected a mapping `clusters: {{<name>: {{pools: [...]}}}}`")
    return {str(name): _pools(path, str(name), entry) for name, entry in clusters.items()}


def pools_for(description: dict[str, tuple[Pool, ...]], cluster: str) -> tuple[Pool, ...]:
    return description.get(cluster) or (Pool(name="node", count=1),)


def manifests(cluster: str, pools: tuple[Pool, ...]) -> list[dict[str, Any]]:
    """The Node objects of one cluster, annotated for its kwok, named ``<cluster>-<pool>-<n>``."""
    result = []
    for pool in pools:
        capacity = {**BASE_CAPACITY, **pool.capacity}
        for index in range(pool.count):
            name = f"{cluster}-{pool.name}-{index}"
            labels = {**pool.labels, POOL_LABEL: pool.name, "kubernetes.io/hostname": name, "type": "kwok"}
            result.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels,
                             "annotations": {kwok.NODE_ANNOTATION: kwok.NODE_ANNOTATION_VALUE}},
                "spec": {"taints": [dict(taint) for taint in pool.taints]},
                "status": {"capacity": capacity, "allocatable": capacity},
            })  # fmt: skip
    return result


def create(server: str, ca_file: Path, token: str, nodes: list[dict[str, Any]], timeout: float) -> None:
    """Create the nodes and return when each is Ready and schedulable (kwok and the node controller agree)."""
    for node in nodes:
        _request("POST", f"{server}/api/v1/nodes", ca_file, token, node)
    wanted = {node["metadata"]["name"] for node in nodes}
    deadline = time.monotonic() + timeout
    while True:
        listed = _request("GET", f"{server}/api/v1/nodes", ca_file, token)
        if wanted <= {item["metadata"]["name"] for item in listed["items"] if _schedulable(item)}:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{server}: nodes {', '.join(sorted(wanted))} not Ready after {timeout}s; see kwok.log")
        time.sleep(0.2)


def _schedulable(node: dict[str, Any]) -> bool:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in node["status"].get("conditions", []))
    not_ready_taint = any(t["key"].startswith("node.kubernetes.io/") for t in node["spec"].get("taints") or [])
    return ready and not not_ready_taint


def _request(method: str, url: str, ca_file: Path, token: str, body: object = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{method} {url} answered {error.code}: {error.read().decode()[:300]}") from error


def _pools(path: Path, cluster: str, entry: object) -> tuple[Pool, ...]:
    pools = entry.get("pools") if isinstance(entry, dict) else None
    if not isinstance(pools, list):
        raise DescriptionError(f"{path}: clusters.{cluster}: expected `pools: [...]`")
    result = []
    for index, pool in enumerate(pools):
        where = f"{path}: clusters.{cluster}.pools[{index}]"
        if not isinstance(pool, dict) or not isinstance(pool.get("name"), str):
            raise DescriptionError(f"{where}: every pool needs a `name`")
        count = pool.get("count", 1)
        if not isinstance(count, int) or count < 0:
            raise DescriptionError(f"{where}: `count` must be a whole number >= 0, got {count!r}")
        result.append(Pool(
            name=pool["name"], count=count,
            labels={str(k): str(v) for k, v in (pool.get("labels") or {}).items()},
            taints=tuple({str(k): str(v) for k, v in taint.items()} for taint in pool.get("taints") or []),
            capacity={str(k): str(v) for k, v in (pool.get("capacity") or {}).items()},
        ))  # fmt: skip
    return tuple(result)
