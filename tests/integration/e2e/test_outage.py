"""One cluster's API server (or its etcd) down: the other converges, /status shows the error within seconds, and
the first catches up when it comes back, without a restart; with leader election too. On a control plane pair of
its own, so the outages touch no other test."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from testenv import controlplane

from ..support import clients, write_requests
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration


def test_one_cluster_down_the_other_converges_and_the_first_catches_up(
    remote: GitRemote, start_controller: StartController, own_control_plane: controlplane.TestEnv
) -> None:
    kubeconfig: Path = own_control_plane.kubeconfig
    cluster = clients(remote.work, kubeconfig)
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", "2s",
                                  "--kubeconfig", kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))

    controlplane.stop_component(own_control_plane, "gpu")
    try:
        (remote.work / "environments/dev.yaml").write_text(
            (remote.work / "environments/dev.yaml").read_text() + "  quota: {cpu: \"12\"}\n")
        revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 5", "dev and prod quotas")
        controller.wait_converged(revision, clusters=("shared",), timeout=30)
        dev = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-dev", "environment-quota")
        assert dev is not None and dev["spec"]["hard"]["requests.cpu"] == "12"

        gpu = controller.wait_for(
            lambda: (lambda g: g if g.get("failures", 0) >= 2 else None)(controller.status()["clusters"]["gpu"]),
            30, "retries of the gpu cluster")
        assert gpu["state"] == "failed" and "cannot reach" in gpu["lastError"]
        assert gpu["targets"][f"{remote.prefix}-prod"]["state"] == "failed"
        assert gpu["revision"] != revision
        print("\n/status while gpu is down:", json.dumps({k: gpu[k] for k in ("state", "lastError", "failures",
                                                                              "nextRetryInSeconds")}))
        # Retrying gpu does not re-apply shared.
        shared_writes = write_requests(cluster["shared"])
        controller.wait_for(lambda: controller.status()["clusters"]["gpu"]["failures"] >= gpu["failures"] + 1, 30,
                            "another retry of gpu")
        assert write_requests(cluster["shared"]) == shared_writes
    finally:
        controlplane.start_component(own_control_plane, "gpu")

    controller.wait_converged(revision, clusters=("gpu",), timeout=60)
    prod = cluster["gpu"].get("ResourceQuota", f"{remote.prefix}-prod", "environment-quota")
    assert prod is not None and prod["spec"]["hard"]["requests.nvidia.com/gpu"] == "5"
    status = controller.status()["clusters"]["gpu"]
    assert (status["state"], status["failures"], status["lastError"]) == ("converged", 0, None)
    assert controller.terminate() == 0


def test_etcd_stopped_shows_an_error_for_the_cluster_within_seconds(
    remote: GitRemote, start_controller: StartController, own_control_plane: controlplane.TestEnv
) -> None:
    """The API server cannot reach etcd and its requests hang: the client's deadline turns that into an error."""
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", "2s",
                                  "--kubeconfig", own_control_plane.kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    controlplane.stop_component(own_control_plane, "gpu", controlplane.ETCD)
    try:
        stopped = time.monotonic()
        revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 4")
        gpu = controller.wait_for(
            lambda: (lambda g: g if g.get("lastError") else None)(controller.status()["clusters"]["gpu"]), 15,
            "an error for the gpu cluster on /status")
        print(f"\n{time.monotonic() - stopped:.1f}s after etcd stopped, /status: {gpu['state']}: {gpu['lastError']}")
        assert gpu["state"] == "failed" and "did not answer within" in gpu["lastError"]
        controller.wait_converged(revision, clusters=("shared",), timeout=15)
    finally:
        controlplane.start_component(own_control_plane, "gpu", controlplane.ETCD)
    controller.wait_converged(revision, clusters=("gpu",), timeout=90)
    assert controller.terminate() == 0


def test_the_lease_cluster_down_stops_only_that_cluster(
    remote: GitRemote, start_controller: StartController, own_control_plane: controlplane.TestEnv
) -> None:
    """With --leader-elect each cluster's Lease lives on that cluster: gpu's API server down (it held the one Lease
    of every cluster before), shared still converges a new commit, and gpu shows why it does not."""
    lease = f"outage-{uuid.uuid4().hex[:8]}"
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", "2s",
                                  "--kubeconfig", own_control_plane.kubeconfig, "--leader-elect",
                                  "--lease-cluster", "gpu", "--lease-name", lease, "--lease-duration", "4s")
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    cluster = clients(remote.work, own_control_plane.kubeconfig)
    controlplane.stop_component(own_control_plane, "gpu")
    try:
        controller.wait_for(lambda: not controller.status()["leader"]["clusters"]["gpu"]["isLeader"], 15,
                            "the gpu Lease to be lost")
        (remote.work / "environments/dev.yaml").write_text(
            (remote.work / "environments/dev.yaml").read_text() + "  quota: {cpu: \"11\"}\n")
        revision = remote.commit("dev quota")
        controller.wait_converged(revision, clusters=("shared",), timeout=30)
        dev = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-dev", "environment-quota")
        assert dev is not None and dev["spec"]["hard"]["requests.cpu"] == "11"
        status = controller.status()
        assert status["leader"]["clusters"]["shared"]["isLeader"] is True
        gpu = status["clusters"]["gpu"]
        print("\n/status of gpu while its API server is down:", json.dumps(
            {"state": gpu["state"], "lastError": gpu["lastError"], "lease": status["leader"]["clusters"]["gpu"]}))
        assert gpu["state"] == "standby" and lease in (gpu["lastError"] or "")
    finally:
        controlplane.start_component(own_control_plane, "gpu")
    controller.wait_converged(revision, clusters=("gpu",), timeout=60)
    assert controller.terminate() == 0
