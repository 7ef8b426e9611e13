"""Two replicas with leader election on a real Lease: only the leader writes; killing it hands over."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from reconciler.kube.client import ClusterClient

from ..support import clients
from .conftest import StartController
from .harness import ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4


def _holder(client: ClusterClient, name: str) -> str | None:
    lease = client.request("GET", f"/apis/coordination.k8s.io/v1/namespaces/reconciler-system/leases/{name}",
                           "get lease")
    return (lease.get("spec") or {}).get("holderIdentity") or None


def _writes(controller: ControllerProcess) -> float:
    return sum(value for name, value in controller.metrics().items()
               if name.startswith("reconciler_write_requests_total"))


def test_only_the_leader_writes_and_a_standby_takes_over(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    lease = f"test-{uuid.uuid4().hex[:8]}"
    args = ("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig, "--leader-elect",
            "--lease-cluster", "shared", "--lease-name", lease, "--lease-duration", f"{LEASE_SECONDS}s")
    first = start_controller(*args, name="a")
    first.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    second = start_controller(*args, name="b")
    second.wait_for(lambda: second.status()["revision"] == git(remote.work, "rev-parse", "HEAD"), 30,
                    "the standby to validate the revision")
    shared = clients(remote.work, kubeconfig)["shared"]
    replicas = {first.status()["leader"]["identity"]: first, second.status()["leader"]["identity"]: second}
    leader = replicas[_holder(shared, lease) or ""]
    standby = second if leader is first else first
    assert leader is first, "the first replica took the lease"
    assert standby.status()["leader"]["isLeader"] is False
    assert standby.get("/readyz") == (200, "ready\n"), "a standby is ready"

    revision = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 7")
    leader.wait_converged(revision)
    time.sleep(2)
    assert _writes(standby) == 0, "the standby wrote"
    assert _writes(leader) > 0
    assert {c["state"] for c in standby.status()["clusters"].values()} <= {"standby", "pending"}

    leader.kill()
    killed = time.monotonic()
    standby_identity = standby.status()["leader"]["identity"]
    while _holder(shared, lease) != standby_identity:
        assert time.monotonic() - killed < 3 * LEASE_SECONDS, "no takeover"
        time.sleep(0.05)
    takeover = time.monotonic() - killed
    print(f"\ntakeover {takeover:.2f}s after SIGKILL of the leader (lease duration {LEASE_SECONDS}s)")
    assert takeover <= LEASE_SECONDS + 1.5

    after = remote.edit("environments/prod.yaml", "gpu: 7", "gpu: 6")
    standby.wait_converged(after, timeout=30)
    assert _writes(standby) > 0
    quota = clients(remote.work, kubeconfig)["gpu"].get("ResourceQuota", f"{remote.prefix}-prod",
                                                        "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "6"

    # A clean stop releases the lease at once.
    assert standby.terminate() == 0
    assert _holder(shared, lease) is None
