"""Kueue objects rendered from the model: flavors per node pool, a ClusterQueue per target, LocalQueues per queue."""

from __future__ import annotations

from typing import Any

from reconciler.render import kueue, render_target
from tests.unit.config.test_kueue import KUEUE_PLATFORM, environment
from tests.unit.conftest import Repo


def kueue_repo(repo: Repo, enforcement: str = "Kueue") -> Repo:
    repo.write("platform.yaml", KUEUE_PLATFORM.replace("Kueue", enforcement))
    queues = "[{name: default, nodePool: cpu}, {name: training, nodePool: a100, priority: 5}]"
    repo.write("environments/prod.yaml", environment(
        "prod", "{cpu: {cpu: '8'}, a100: {gpu: 8, cpu: '32', borrowingLimit: {gpu: 2}}}", cohort="ml", queues=queues))
    repo.write("environments/staging.yaml", environment("staging", "{cpu: {cpu: '4'}, a100: {gpu: 4}}", cohort="ml"))
    (repo.root / "environments/dev.yaml").unlink(missing_ok=True)  # its queue has no Kueue quota
    return repo


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_each_node_pool_becomes_a_flavor_with_its_labels_and_taints_shared_by_the_platform(repo: Repo) -> None:
    landscape = kueue_repo(repo).landscape()
    shared = kueue.render_cluster(landscape, "gpu")
    flavors = {f["metadata"]["name"]: f for f in by_kind(shared, "ResourceFlavor")}
    assert sorted(flavors) == ["test-platform-a100", "test-platform-cpu"]
    a100 = flavors["test-platform-a100"]
    assert a100["spec"]["nodeLabels"] == {"gpu": "a100"}
    assert a100["spec"]["nodeTaints"] == [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    assert a100["spec"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert "reconciler/environment" not in a100["metadata"]["labels"]  # the Platform's, not one environment's
    assert a100["metadata"]["labels"]["reconciler/platform"] == "test-platform"
    classes = by_kind(shared, "WorkloadPriorityClass")
    assert [(c["metadata"]["name"], c["value"]) for c in classes] == [("test-platform-priority-0", 0),
                                                                      ("test-platform-priority-5", 5)]


def test_an_environment_target_gets_a_cluster_queue_for_its_namespace_and_a_local_queue_per_queue(repo: Repo) -> None:
    landscape = kueue_repo(repo).landscape()
    (prod,) = landscape.select(environment="prod")
    objects = render_target(prod, landscape)
    (queue,) = by_kind(objects, "ClusterQueue")
    assert queue["metadata"]["name"] == "test-platform-prod"
    assert "namespace" not in queue["metadata"]
    spec = queue["spec"]
    assert spec["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "ml-prod"}}
    assert spec["cohortName"] == "test-platform-ml"
    group = spec["resourceGroups"][0]
    assert group["coveredResources"] == ["cpu", "nvidia.com/gpu"]
    flavors = {f["name"]: f["resources"] for f in group["flavors"]}
    assert flavors["test-platform-a100"] == [
        {"name": "cpu", "nominalQuota": "32"},
        {"name": "nvidia.com/gpu", "nominalQuota": "8", "borrowingLimit": "2"},
    ]
    # Kueue wants every flavor of a group to list every covered resource: none on the CPU pool is 0.
    assert flavors["test-platform-cpu"][1] == {"name": "nvidia.com/gpu", "nominalQuota": "0"}
    local = {q["metadata"]["name"]: q for q in by_kind(objects, "LocalQueue")}
    assert sorted(local) == ["default", "training"]
    assert local["training"]["metadata"]["namespace"] == "ml-prod"
    assert local["training"]["spec"] == {"clusterQueue": "test-platform-prod"}


def test_kueue_alone_drops_the_resource_quota_and_both_keep_it(repo: Repo) -> None:
    for enforcement, expected in (("Kueue", []), ("Both", ["ResourceQuota"]), ("ResourceQuota", ["ResourceQuota"])):
        landscape = kueue_repo(repo, enforcement).landscape()
        (prod,) = landscape.select(environment="prod")
        objects = render_target(prod, landscape)
        assert [o["kind"] for o in objects if o["kind"] == "ResourceQuota"] == expected, enforcement
        assert bool(by_kind(objects, "ClusterQueue")) == (enforcement != "ResourceQuota"), enforcement
