"""The sample landscape's topologies on the real scheduler and simulated nodes (testenv/nodes.yaml):

- single node: cluster "shared" has one CPU node, on which dev's and staging's agents run;
- multi-node: cluster "gpu" has CPU nodes and tainted A100 nodes; the agent lands on CPU nodes only, a GPU pod on an
  A100 node only when it tolerates the taint, and never in dev, whose GPU quota is 0;
- multi-namespace and multi-cluster: docs/topologies.md, with the tests that show them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from reconciler.policy import prerequisites
from testenv import controlplane, polling

from . import authorizer
from .support import api_as_token, edit, private_repo, quotas_count_every_pod, run_cli

pytestmark = pytest.mark.integration
A100_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def converged(tmp_path_factory: pytest.TempPathFactory, control_plane: controlplane.TestEnv) -> Path:
    """The sample landscape (namespaces t-dev, t-staging, t-prod), applied with --wait: every agent Available and
    counted in its namespace's quota (the agents start with their quotas, before those have a status), every
    binding in effect (the members' pods below are created with their own tokens)."""
    repo = private_repo(tmp_path_factory.mktemp("topologies"), "t")
    assert run_cli("apply", repo, "--kubeconfig", control_plane.kubeconfig, "--wait", "90") == 0
    for cluster, namespace in (("shared", "t-dev"), ("shared", "t-staging"), ("gpu", "t-prod")):
        quotas_count_every_pod(core(control_plane, cluster), namespace)
        authorizer.bindings_in_effect(core(control_plane, cluster).api_client, namespace)
    return repo


def core(env: controlplane.TestEnv, cluster: str, user: str = "admin") -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_as_token(env.kubeconfig, cluster, env.token(user)))


def agent_pods(api: k8s.CoreV1Api, namespace: str) -> list[k8s.V1Pod]:
    return list(api.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=ml-agent").items)


def node_labels(api: k8s.CoreV1Api) -> dict[str, dict[str, str]]:
    return {node.metadata.name: node.metadata.labels or {} for node in api.list_node().items}


def gpu_pod(name: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "train", "image": "trainer", "resources": {
        "requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": "1"}}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container], **spec}}


@pytest.fixture
def cleanup(control_plane: controlplane.TestEnv) -> Iterator[list[tuple[str, str, str]]]:
    made: list[tuple[str, str, str]] = []
    yield made
    for cluster, namespace, name in made:
        core(control_plane, cluster).delete_namespaced_pod(name, namespace, grace_period_seconds=0)


def test_every_agent_runs_only_on_its_pools_nodes(converged: Path, control_plane: controlplane.TestEnv) -> None:
    for cluster, namespace, replicas in (("shared", "t-dev", 1), ("shared", "t-staging", 1), ("gpu", "t-prod", 2)):
        api = core(control_plane, cluster)
        labels = node_labels(api)
        pods = agent_pods(api, namespace)
        assert len(pods) == replicas, (cluster, namespace)
        for pod in pods:
            assert pod.status.phase == "Running", (cluster, namespace, pod.metadata.name)
            assert labels[pod.spec.node_name].get("pool") == "cpu", (cluster, pod.spec.node_name)
    # Single node: on "shared" both environments' agents share its one node.
    shared = core(control_plane, "shared")
    assert {p.spec.node_name for ns in ("t-dev", "t-staging") for p in agent_pods(shared, ns)} == {"shared-cpu-0"}


def test_a_gpu_pod_is_refused_in_dev_by_its_quota(converged: Path, control_plane: controlplane.TestEnv) -> None:
    """bob edits dev (team vision): the pod is his to create, but dev's GPU quota is 0."""
    with pytest.raises(ApiException) as refused:
        core(control_plane, "shared", "bob").create_namespaced_pod("t-dev", gpu_pod("wants-a-gpu"))
    assert refused.value.status == 403
    body = json.loads(refused.value.body)
    assert ('exceeded quota: environment-quota, requested: requests.nvidia.com/gpu=1, used: '
            'requests.nvidia.com/gpu=0, limited: requests.nvidia.com/gpu=0') in body["message"]


def test_a_gpu_pod_in_prod_runs_on_an_a100_node_and_counts_in_the_quota(
    converged: Path, control_plane: controlplane.TestEnv, cleanup: list[tuple[str, str, str]]
) -> None:
    """carol administers prod (team platform): a pod tolerating the GPU taint is scheduled onto an A100 node."""
    api = core(control_plane, "gpu", "carol")
    api.create_namespaced_pod("t-prod", gpu_pod("train", tolerations=[A100_TOLERATION],
                                                 nodeSelector={"gpu": "a100"}))
    cleanup.append(("gpu", "t-prod", "train"))
    running = polling.until(lambda: _phase(api, "t-prod", "train") == "Running" and
                            api.read_namespaced_pod("train", "t-prod"), 60, "the GPU pod to run")
    assert running.spec.node_name in ("gpu-a100-0", "gpu-a100-1")

    def used() -> dict[str, str] | None:
        status = core(control_plane, "gpu").read_namespaced_resource_quota("environment-quota", "t-prod").status
        counted = status.used or {}
        return counted if counted.get("requests.nvidia.com/gpu") == "1" else None

    usage = polling.until(used, 60, "the quota controller to count the GPU pod")
    assert usage["pods"] == "3"  # two agent replicas and the training pod, all running


def test_a_gpu_pod_that_does_not_tolerate_the_taint_is_not_scheduled(
    converged: Path, control_plane: controlplane.TestEnv, cleanup: list[tuple[str, str, str]]
) -> None:
    api = core(control_plane, "gpu", "carol")
    api.create_namespaced_pod("t-prod", gpu_pod("untolerated"))
    cleanup.append(("gpu", "t-prod", "untolerated"))

    def unschedulable() -> str | None:
        for condition in api.read_namespaced_pod("untolerated", "t-prod").status.conditions or []:
            if condition.type == "PodScheduled" and condition.reason == "Unschedulable":
                return str(condition.message)
        return None

    message = polling.until(unschedulable, 60, "the scheduler to give up on the pod")
    assert "0/4 nodes are available" in message
    assert "2 node(s) had untolerated taint(s)" in message  # the A100 nodes
    assert "2 Insufficient nvidia.com/gpu" in message  # the CPU nodes have no GPUs


def test_plan_reports_the_missing_operator_crd_and_stops_once_it_exists(
    converged: Path, control_plane: controlplane.TestEnv, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run_cli("plan", converged, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0
    assert f"CRD {prerequisites.OPERATOR_CRD} is missing on cluster 'gpu'" in capsys.readouterr().out
    extensions = k8s.ApiextensionsV1Api(api_as_token(control_plane.kubeconfig, "gpu", control_plane.token("admin")))
    extensions.create_custom_resource_definition(_operations_crd())
    try:
        assert run_cli("plan", converged, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0
        assert prerequisites.OPERATOR_CRD not in capsys.readouterr().out
    finally:
        extensions.delete_custom_resource_definition(prerequisites.OPERATOR_CRD)


def test_one_reconciler_per_cluster_converges_its_own_with_no_credentials_for_the_other(
    tmp_path: Path, control_plane: controlplane.TestEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = private_repo(tmp_path, "u")
    edit(repo, "environments/prod.yaml", "replicas: 2", "replicas: 1")
    only_gpu = tmp_path / "gpu.kubeconfig"
    config = json.loads(control_plane.kubeconfig.read_text())
    config["contexts"] = [c for c in config["contexts"] if c["name"] == "gpu"]
    config["clusters"] = [c for c in config["clusters"] if c["name"] == "gpu"]
    config["current-context"] = "gpu"
    only_gpu.write_text(json.dumps(config))
    assert run_cli("apply", repo, "--kubeconfig", only_gpu, "--cluster", "gpu", "--wait", "90") == 0
    assert "agent gpu/u-prod: ready (1/1 replicas available)" in capsys.readouterr().out
    shared = core(control_plane, "shared")
    assert "u-dev" not in {ns.metadata.name for ns in shared.list_namespace().items}


def _phase(api: k8s.CoreV1Api, namespace: str, name: str) -> str:
    return str(api.read_namespaced_pod(name, namespace).status.phase)


def _operations_crd() -> dict[str, Any]:
    """The shape of Polyaxon's operator CRD (its chart's crds/core.polyaxon.com_operations.yaml), schema elided."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": prerequisites.OPERATOR_CRD},
        "spec": {"group": "core.polyaxon.com", "scope": "Namespaced",
                 "names": {"kind": "Operation", "plural": "operations", "singular": "operation", "listKind":
                           "OperationList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }  # fmt: skip
