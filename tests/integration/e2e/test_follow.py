"""`reconciler run` follows a branch of a real git repository and converges two real API servers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from reconciler.kube.client import ClusterClient

from ..support import clients
from .conftest import WEBHOOK_SECRET, StartController
from .harness import ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration

Clusters = dict[str, ClusterClient]


@pytest.fixture
def cluster(remote: GitRemote, kubeconfig: Path) -> Clusters:
    """Admin clients of both clusters (read from the first commit: later ones may be invalid on purpose)."""
    return clients(remote.work, kubeconfig)


def _gpu_quota(remote: GitRemote, cluster: Clusters) -> str | None:
    quota = cluster["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    return None if quota is None else str(quota["spec"]["hard"]["requests.nvidia.com/gpu"])


def _wait_quota(remote: GitRemote, cluster: Clusters, value: str, timeout: float) -> float:
    """Seconds until the gpu cluster's prod quota shows ``value``, read straight from the API server."""
    gpu = cluster["gpu"]
    began = time.monotonic()
    while True:
        quota = gpu.get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
        if quota is not None and quota["spec"]["hard"].get("requests.nvidia.com/gpu") == value:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, f"the quota did not become {value} within {timeout}s"
        time.sleep(0.05)


def _events(client: ClusterClient, namespace: str) -> list[dict[str, str]]:
    listing = client.request("GET", f"/api/v1/namespaces/{namespace}/events", "list events")
    return [{"reason": e["reason"], "message": e["message"], "type": e["type"]} for e in listing["items"]
            if e.get("source", {}).get("component") == "reconciler"]


def test_a_quota_commit_is_converged_within_two_poll_intervals(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, cluster: Clusters
) -> None:
    interval = 2.0
    controller = start_controller("--repo", remote.url, "--interval", f"{interval}s", "--kubeconfig", kubeconfig)
    first = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(first)
    assert controller.get("/readyz") == (200, "ready\n")
    converged = _events(cluster["gpu"], f"{remote.prefix}-prod")
    assert any(e["reason"] == "Converged" and first[:12] in e["message"] for e in converged), converged

    revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 4")
    elapsed = _wait_quota(remote, cluster, "4", timeout=30)
    print(f"\nquota commit converged {elapsed:.2f}s after the push (poll interval {interval:.0f}s)")
    assert elapsed < 2 * interval
    controller.wait_converged(revision)
    status = controller.status()
    assert status["clusters"]["gpu"]["targets"][f"{remote.prefix}-prod"]["revision"] == revision
    metrics = controller.metrics()
    assert metrics[f'reconciler_applied_revision{{cluster="gpu",environment="prod",namespace="{remote.prefix}-prod",'
                   f'revision="{revision}"}}'] == 1
    updated = _events(cluster["gpu"], f"{remote.prefix}-prod")
    assert any("updated ResourceQuota environment-quota (spec.hard.requests.nvidia.com/gpu: 8 -> 4)" in e["message"]
               for e in updated), updated
    assert controller.terminate() == 0


def test_the_webhook_triggers_a_fetch_at_once_and_needs_the_signature(
    remote: GitRemote, webhook_controller: ControllerProcess, cluster: Clusters
) -> None:
    controller = webhook_controller  # polling every 10 minutes: only the webhook makes it notice the commit in time
    remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 6")
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    assert controller.post_webhook(body, None) == 401
    assert controller.post_webhook(body, "a wrong secret") == 401
    time.sleep(1.0)
    assert _gpu_quota(remote, cluster) == "8", "an unsigned call must not trigger anything"

    began = time.monotonic()
    assert controller.post_webhook(body, WEBHOOK_SECRET) == 202
    _wait_quota(remote, cluster, "6", timeout=30)
    latency = time.monotonic() - began
    print(f"\nwebhook to converged quota: {latency:.2f}s")
    assert latency < 5
    metrics = controller.metrics()
    assert metrics['reconciler_webhook_requests_total{result="bad-signature"}'] == 2
    assert metrics['reconciler_webhook_requests_total{result="accepted"}'] == 1
    assert WEBHOOK_SECRET not in controller.log_path.read_text()


def test_a_bad_revision_changes_nothing_and_the_next_good_one_is_applied(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, cluster: Clusters
) -> None:
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    good = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(good)
    line = next(n for n, text in enumerate((remote.work / "environments/prod.yaml").read_text().splitlines(), 1)
                if "gpu: 8" in text)
    # Two changes in one commit: a valid one on the shared cluster and a schema error on prod.
    (remote.work / "environments/staging.yaml").write_text(
        (remote.work / "environments/staging.yaml").read_text().replace('cpu: "32"', 'cpu: "48"'))
    bad = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: lots")

    controller.wait_for(lambda: (controller.status()["lastBadRevision"] or {}).get("revision") == bad, 30,
                        "the bad revision on /status")
    status = controller.status()
    assert status["lastBadRevision"]["errors"] == [
        f"environments/prod.yaml:{line}: spec.quota.gpu: 'lots' is not a whole, non-negative number (Kubernetes "
        "counts GPUs and other extended resources in whole units)"]
    assert status["revision"] == good
    time.sleep(2.5)  # two more polls: still nothing applied from the bad revision
    assert {name: c["revision"] for name, c in controller.status()["clusters"].items()} == {"gpu": good,
                                                                                           "shared": good}
    staging = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-staging",
                                                              "environment-quota")
    assert staging is not None and staging["spec"]["hard"]["requests.cpu"] == "32"
    assert _gpu_quota(remote, cluster) == "8"
    rejected = [entry for entry in controller.logs() if entry.get("revision") == bad and entry["level"] == "error"]
    assert rejected and rejected[0]["errors"] == status["lastBadRevision"]["errors"]

    fixed = remote.edit("environments/prod.yaml", "gpu: lots", "gpu: 2")
    controller.wait_converged(fixed, timeout=30)
    assert _gpu_quota(remote, cluster) == "2"
    staging = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-staging",
                                                              "environment-quota")
    assert staging is not None and staging["spec"]["hard"]["requests.cpu"] == "48"


def test_resync_undoes_drift_without_a_new_commit(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, cluster: Clusters
) -> None:
    controller = start_controller("--repo", remote.url, "--interval", "30s", "--resync", "2s",
                                  "--kubeconfig", kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    gpu = cluster["gpu"]
    gpu.merge_patch("ResourceQuota", f"{remote.prefix}-prod", "environment-quota",
                    {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}})
    elapsed = _wait_quota(remote, cluster, "8", timeout=20)
    print(f"\ndrift undone after {elapsed:.2f}s (resync 2s)")
    controller.wait_for(lambda: controller.metrics().get('reconciler_drift_corrected_total{cluster="gpu"}', 0) >= 1,
                        10, "the drift metric")
    drift = [e for e in _events(cluster["gpu"], f"{remote.prefix}-prod") if e["reason"] == "DriftCorrected"]
    assert drift and "spec.hard.requests.nvidia.com/gpu: 1 -> 8" in drift[0]["message"]
    assert controller.metrics().get('reconciler_drift_corrected_total{cluster="shared"}', 0) == 0


def test_a_force_push_is_followed_and_logged(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, cluster: Clusters
) -> None:
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    changed = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 3")
    controller.wait_converged(changed)
    assert _gpu_quota(remote, cluster) == "3"

    rewritten = remote.force_push_reset(1, "rewrite history: drop the quota change")
    controller.wait_converged(rewritten, timeout=30)
    assert _gpu_quota(remote, cluster) == "8"
    source = controller.status()["source"]
    assert source["forcePushes"] == 1
    assert source["lastForcePush"]["from"] == changed and source["lastForcePush"]["to"] == rewritten
    warnings = [e for e in controller.logs() if e["message"] == "the branch was force-pushed: following it"]
    assert warnings and warnings[0]["from"] == changed and warnings[0]["to"] == rewritten


def test_one_reconciler_per_cluster_needs_only_its_own_credentials(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, cluster: Clusters, tmp_path: Path
) -> None:
    config = json.loads(kubeconfig.read_text())
    config["contexts"] = [c for c in config["contexts"] if c["name"] == "gpu"]
    config["clusters"] = [c for c in config["clusters"] if c["name"] == "gpu"]
    config["current-context"] = "gpu"
    only_gpu = tmp_path / "gpu-only.kubeconfig"
    only_gpu.write_text(json.dumps(config))

    controller = start_controller("--repo", remote.url, "--interval", "1s", "--cluster", "gpu",
                                  "--kubeconfig", only_gpu)
    revision = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(revision, clusters=("gpu",))
    status = controller.status()
    assert set(status["clusters"]) == {"gpu"}
    assert status["clusters"]["gpu"]["lastError"] is None
    assert _gpu_quota(remote, cluster) == "8"
    shared = cluster["shared"]
    assert shared.get("Namespace", None, f"{remote.prefix}-dev") is None
    assert controller.terminate() == 0
