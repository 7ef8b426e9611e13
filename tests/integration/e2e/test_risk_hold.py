"""The controller applies the pull request's policy: a commit that lowers a quota below live usage (a rule the
Platform sets to block) reaches the branch and is held, visible in /status, /metrics and an Event; the next good
commit is applied."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from kubernetes import client as k8s

from reconciler.config.quantity import parse_quantity

from ..conftest import ClientFactory
from ..support import clients, pod, pods_admitted
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration


def test_a_commit_lowering_a_quota_below_live_usage_is_held_until_a_good_one(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, api_client: ClientFactory
) -> None:
    assert "quota-below-usage: block" in (remote.work / "platform.yaml").read_text()
    namespace = f"{remote.prefix}-prod"
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    gpu = clients(remote.work, kubeconfig)["gpu"]
    core = k8s.CoreV1Api(api_client("gpu"))
    pods_admitted(core, namespace)
    core.create_namespaced_pod(namespace, pod("training", cpu="2", memory="1Gi"))  # Pending (no nodes), but counted

    def used_cpu() -> Fraction:
        quota = gpu.get("ResourceQuota", namespace, "environment-quota")
        return parse_quantity(quota.get("status", {}).get("used", {}).get("requests.cpu", "0") if quota else "0")

    # The agent's pods count too: 2 CPUs and more are in use, above the 1 CPU the next commit allows.
    controller.wait_for(lambda: used_cpu() >= 2, 30, "the quota to count the pod's 2 CPUs")

    held = remote.edit("environments/prod.yaml", 'cpu: "64"', 'cpu: "1"')
    status = controller.wait_for(lambda: (s := controller.status())["heldRevision"] and s, 30, "the hold")
    assert status["heldRevision"]["revision"] == held
    findings = status["heldRevision"]["findings"]
    assert any(f.startswith("quota-below-usage (prod, gpu/" + namespace) and "requests.cpu" in f for f in findings)
    assert controller.metrics()["reconciler_revision_held"] == 1
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "64"
    assert all(t["revision"] != held for c in status["clusters"].values() for t in c["targets"].values())
    listing = gpu.request("GET", f"/api/v1/namespaces/{namespace}/events", "list events")
    assert any(e["reason"] == "RevisionHeld" and held[:12] in e["message"] and e["type"] == "Warning"
               for e in listing["items"]), [e["reason"] for e in listing["items"]]
    # And in the controller's own namespace, on the cluster it runs on (gpu: the first, outside a cluster).
    home = gpu.request("GET", "/api/v1/namespaces/reconciler-system/events", "list events")
    assert any(e["reason"] == "RevisionHeld" and held[:12] in e["message"] and "stays applied" in e["message"]
               for e in home["items"]), [e["reason"] for e in home["items"]]

    good = remote.edit("environments/prod.yaml", 'cpu: "1"', 'cpu: "32"')
    controller.wait_converged(good)
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "32"
    assert controller.status()["heldRevision"] is None
    assert controller.metrics()["reconciler_revision_held"] == 0
    assert controller.terminate() == 0


def test_a_held_revision_survives_a_restart_and_is_applied_once_approved_outside_git(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, api_client: ClientFactory,
    tmp_path: Path,
) -> None:
    """Some findings have no later commit that resolves them (a reviewed allow-list change): a person releases the
    revision in the approvals file. A restart in between neither forgets the hold nor skips the rules."""
    namespace = f"{remote.prefix}-prod"
    approvals = tmp_path / "approvals"
    approvals.write_text("# commits released from a risk hold\n")
    first = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig, name="first")
    first.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    gpu = clients(remote.work, kubeconfig)["gpu"]
    core = k8s.CoreV1Api(api_client("gpu"))
    pods_admitted(core, namespace)
    core.create_namespaced_pod(namespace, pod("training", cpu="2", memory="1Gi"))

    def used_cpu() -> Fraction:
        quota = gpu.get("ResourceQuota", namespace, "environment-quota")
        return parse_quantity(quota.get("status", {}).get("used", {}).get("requests.cpu", "0") if quota else "0")

    first.wait_for(lambda: used_cpu() >= 2, 30, "the quota to count the pod's 2 CPUs")
    held = remote.edit("environments/prod.yaml", 'cpu: "64"', 'cpu: "1"')
    first.wait_for(lambda: (s := first.status())["heldRevision"] and s, 30, "the hold")
    assert first.terminate() == 0

    # A new process has accepted nothing yet: it judges the branch against what the inventories record.
    second = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig,
                              "--approvals", approvals, name="second")
    status = second.wait_for(lambda: (s := second.status())["heldRevision"] and s, 30, "the hold after a restart")
    assert status["heldRevision"]["revision"] == held and status["heldRevision"]["cause"] == "risk"
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "64"

    approvals.write_text(f"# commits released from a risk hold\n{held[:12]}  # lowered on purpose\n")
    second.wait_converged(held)
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "1"
    assert second.status()["heldRevision"] is None
    assert second.terminate() == 0
