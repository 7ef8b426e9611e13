"""The simulated nodes' description: the default matches the sample repository's pools, and mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load_landscape
from testenv import kwok, nodes
from tests.unit.conftest import SAMPLE_REPO


def _tolerated(taint: dict[str, str], tolerations: tuple[dict[str, object], ...]) -> bool:
    return any(t.get("key") == taint["key"] and t.get("effect", taint["effect"]) == taint["effect"]
               and (t.get("operator") == "Exists" or t.get("value") == taint.get("value")) for t in tolerations)


def test_every_node_pool_of_the_sample_repository_has_nodes_it_schedules_onto() -> None:
    description = nodes.load()
    landscape = load_landscape(SAMPLE_REPO)
    for cluster in landscape.clusters.values():
        made = nodes.manifests(cluster.name, nodes.pools_for(description, cluster.name))
        for pool in cluster.node_pools.values():
            fitting = [n for n in made if pool.node_selector.items() <= n["metadata"]["labels"].items()
                       and all(_tolerated(t, pool.tolerations) for t in n["spec"]["taints"])]
            assert fitting, f"no node of {cluster.name} fits node pool {pool.name}"
            if pool.gpu:
                assert all(int(n["status"]["capacity"]["nvidia.com/gpu"]) > 0 for n in fitting)
                assert all(n["spec"]["taints"] for n in fitting), "GPU nodes carry the taint their pool tolerates"


def test_a_cpu_pool_selects_no_tainted_gpu_node() -> None:
    made = nodes.manifests("gpu", nodes.pools_for(nodes.load(), "gpu"))
    cpu = [n for n in made if n["metadata"]["labels"].get("pool") == "cpu"]
    assert len(cpu) == 2 and all(not n["spec"]["taints"] and "nvidia.com/gpu" not in n["status"]["capacity"]
                                 for n in cpu)


def test_nodes_are_named_annotated_for_kwok_and_filled_with_default_capacity() -> None:
    pool = nodes.Pool(name="a100", count=2, labels={"gpu": "a100"}, capacity={"nvidia.com/gpu": "8"})
    first, second = nodes.manifests("east", (pool,))
    assert [first["metadata"]["name"], second["metadata"]["name"]] == ["east-a100-0", "east-a100-1"]
    assert first["metadata"]["annotations"] == {kwok.NODE_ANNOTATION: kwok.NODE_ANNOTATION_VALUE}
    assert first["status"]["capacity"] == {**nodes.BASE_CAPACITY, "nvidia.com/gpu": "8"}


def test_a_cluster_the_description_does_not_name_gets_one_plain_node() -> None:
    [node] = nodes.manifests("other", nodes.pools_for(nodes.load(), "other"))
    assert node["metadata"]["name"] == "other-node-0" and node["spec"]["taints"] == []


@pytest.mark.parametrize(("text", "message"), [
    ("pools: []", "expected a mapping `clusters:"),
    ("clusters: {gpu: {pools: {}}}", "clusters.gpu: expected `pools: [...]`"),
    ("clusters: {gpu: {pools: [{count: 1}]}}", "clusters.gpu.pools[0]: every pool needs a `name`"),
    ("clusters: {gpu: {pools: [{name: a, count: -1}]}}", "clusters.gpu.pools[0]: `count` must be a whole number"),
])
def test_a_wrong_description_names_the_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "nodes.yaml"
    path.write_text(text)
    with pytest.raises(nodes.DescriptionError, match=str(path)) as raised:
        nodes.load(path)
    assert message in str(raised.value)
