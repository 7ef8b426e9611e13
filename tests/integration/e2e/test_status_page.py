"""The status page in a real browser: with the sample landscape converged, GPU work queued in prod and the gpu
cluster's API server stopped, headless Chromium shows every environment and cluster, the stopped cluster failed
with its error, the other converged, and quota bars equal to the ResourceQuota status the API servers report.
On a control plane pair of its own, so the outage touches no other test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from kubernetes import client as k8s

from reconciler.plan import quota
from testenv import clients as test_clients
from testenv import controlplane

from ..support import pod, quotas_count_every_pod
from .browser import Part, open_page, parts
from .conftest import StartController
from .harness import ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration
QUOTA = "environment-quota"
PLACES = {"dev": "shared", "staging": "shared", "prod": "gpu"}


def api_usage(core: k8s.CoreV1Api, namespace: str) -> quota.Usage:
    """CPU, memory and GPU used/hard as the API server's ResourceQuota status says (`kubectl get resourcequota`)."""
    found = core.read_namespaced_resource_quota(QUOTA, namespace)
    return quota.usage_of({"status": {"hard": found.status.hard, "used": found.status.used}})


def agent_shown(controller: ControllerProcess, apps: k8s.AppsV1Api, cluster: str, namespace: str) -> str:
    """The agent's readiness, once every replica is ready and /status says so (it is read at each resync): before,
    the page could show a resync older than the API's figure."""
    def settled() -> str | None:
        deployments = apps.list_namespaced_deployment(namespace,
                                                      label_selector="app.kubernetes.io/managed-by=reconciler")
        (agent,) = deployments.items
        ready, wanted = agent.status.ready_replicas or 0, agent.spec.replicas
        shown = controller.status()["clusters"][cluster]["targets"][namespace].get("agent") or {}
        same = ready == wanted and (shown.get("ready"), shown.get("wanted")) == (ready, wanted)
        return f"agent {ready}/{wanted} ready" if same else None

    found: str = controller.wait_for(settled, 60, f"{cluster}/{namespace}: every agent replica ready, on /status")
    return found


def queue_work(core: k8s.CoreV1Api, namespace: str, name: str, **requests: str) -> None:
    """A pod, which the quota counts from admission on (every quota of the namespace has its status by now)."""
    core.create_namespaced_pod(namespace, pod(name, **requests))


def the_one(found: list[Part], what: str) -> Part:
    assert len(found) == 1, f"expected one {what} on the page, found {len(found)}"
    return found[0]


def usage_shown(controller: ControllerProcess, core: k8s.CoreV1Api, cluster: str, namespace: str) -> quota.Usage:
    """The quota usage the API server reports, once /status shows the same (it is read at each resync)."""
    def same() -> quota.Usage | None:
        reported = api_usage(core, namespace)
        shown = controller.status()["clusters"][cluster]["targets"][namespace]["quota"]
        return reported if shown == reported else None

    found: quota.Usage = controller.wait_for(same, 30, f"{cluster}/{namespace}: the API's quota usage on /status")
    return found


def test_the_page_shows_each_environment_the_stopped_cluster_failed_and_quota_as_the_api_counts_it(
    remote: GitRemote, start_controller: StartController, own_control_plane: controlplane.TestEnv, tmp_path: Path
) -> None:
    env, prefix = own_control_plane, remote.prefix
    api = {name: test_clients.api_client(env, name) for name in ("shared", "gpu")}
    core = {name: k8s.CoreV1Api(a) for name, a in api.items()}
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--resync", "2s", "--max-backoff", "2s",
                                  "--kubeconfig", env.kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    # The agents started with their quotas: counted once the namespace is counted again, which is made to happen
    # now, not at a resync of the controller manager between the figures read below and the page.
    for environment, cluster in PLACES.items():
        quotas_count_every_pod(core[cluster], f"{prefix}-{environment}")

    queue_work(core["gpu"], f"{prefix}-prod", "training", **{"nvidia.com/gpu": "3", "cpu": "2", "memory": "4Gi"})
    queue_work(core["shared"], f"{prefix}-dev", "notebook")  # the LimitRange's default requests
    expected: dict[str, quota.Usage] = {}
    agents: dict[str, str] = {}
    for environment, cluster in PLACES.items():
        namespace = f"{prefix}-{environment}"
        expected[environment] = usage_shown(controller, core[cluster], cluster, namespace)
        agents[environment] = agent_shown(controller, k8s.AppsV1Api(api[cluster]), cluster, namespace)
    assert expected["prod"]["gpu"] == {"used": "3", "hard": "8"}

    controlplane.stop_component(env, "gpu")
    try:
        controller.wait_for(lambda: controller.status()["clusters"]["gpu"]["failures"] >= 1, 30,
                            "the controller to notice the gpu cluster is down")
        screenshot = tmp_path / "status-page.png"
        dom = open_page(controller.url("/"), tmp_path, screenshot)
    finally:
        controlplane.start_component(env, "gpu")
    print(f"\nscreenshot of the status page: {screenshot}")
    if os.environ.get("RECONCILER_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["RECONCILER_SCREENSHOTS"]) / "status-page.png")
    assert_page(dom, prefix, expected, agents)


def assert_page(dom: str, prefix: str, expected: dict[str, quota.Usage], agents: dict[str, str]) -> None:
    rows = {p.attributes["data-environment"]: p for p in parts(dom, "environment")}
    assert sorted(rows) == ["dev", "prod", "staging"]
    headings = {p.attributes["data-cluster"]: p.shown for p in parts(dom, "cluster")
                if "data-namespace" not in p.attributes}
    assert headings["gpu"].startswith("gpu failed") and headings["shared"].startswith("shared converged")
    cells = {p.attributes["data-namespace"]: p for p in parts(dom, "namespace")}
    for environment, cluster in PLACES.items():
        cell = cells[f"{prefix}-{environment}"]
        assert cell.attributes["data-cluster"] == cluster
        assert agents[environment] in cell.shown, cell.shown
        bars = {b.attributes["data-resource"]: b.shown.split(" ", 1)[1] for b in cell.within("resource")}
        assert bars == {resource: f"{quota.shown(resource, figures['used'])} / {quota.shown(resource, figures['hard'])}"
                        for resource, figures in expected[environment].items()}
        if cluster == "gpu":
            assert cell.shown.startswith("failed") and "cannot reach" in cell.shown, cell.shown
        else:
            assert cell.shown.startswith("converged") and "cannot reach" not in cell.shown, cell.shown
    total = the_one([p for p in parts(dom, "usage") if p.attributes["data-usage"] == "total"], "total row")
    assert "3 / 8" in total.shown, total.shown
    gpu_card = the_one([p for p in parts(dom, "card") if p.attributes["data-card"].startswith("GPU")], "GPU total")
    assert gpu_card.shown.startswith("3 / 8")
