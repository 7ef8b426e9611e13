"""Split brain: a leader paused (SIGSTOP) in the middle of a converge for longer than its lease, while the standby
takes over and converges a newer commit, sends no write at all when it resumes (SIGCONT): its write guard refuses
every queued write before it is sent. Writes are counted by the API server itself.

On a control plane of its own: the converge that is interrupted creates a dozen namespaces."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from reconciler.converge import ConvergeOptions
from testenv import controlplane

from ..support import OUR_RESOURCES, clients, quiet_writes, write_requests
from .conftest import StartController
from .harness import ControllerProcess, GitRemote, add_environments, git

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4
EXTRAS = range(12)


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    return own_control_plane.kubeconfig


def own_writes(controller: ControllerProcess, cluster: str) -> float:
    """The controller's own count of its writes to the kinds the API server counts in write_requests."""
    return sum(value for name, value in controller.metrics().items()
               if name.startswith("reconciler_write_requests_total{") and f'cluster="{cluster}"' in name
               and any(f'resource="{resource}"' in name for resource in OUR_RESOURCES))


def leads(controller: ControllerProcess, *clusters: str) -> bool:
    leases = controller.status()["leader"].get("clusters") or {}
    return all((leases.get(c) or {}).get("isLeader") for c in clusters)


def test_a_paused_leader_sends_no_write_after_the_standby_took_over(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    lease = f"fence-{uuid.uuid4().hex[:8]}"
    args = ("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig, "--leader-elect",
            "--lease-name", lease, "--lease-duration", f"{LEASE_SECONDS}s")
    leader = start_controller(*args, name="a")
    leader.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    standby = start_controller(*args, name="b")
    standby.wait_for(lambda: standby.status()["revision"] == git(remote.work, "rev-parse", "HEAD"), 30,
                     "the standby to validate the revision")
    assert not standby.status()["leader"]["isLeader"]
    shared = clients(remote.work, kubeconfig)["shared"]

    add_environments(remote.work, remote.prefix, EXTRAS)
    many = remote.commit("a dozen more environments")
    leader.wait_for(lambda: (lambda s: s.get("state") == "converging" and s.get("convergingRevision") == many
                             and s.get("writtenThisSync", 0) >= 3)(leader.status()["clusters"].get("shared") or {}),
                    60, "the leader in the middle of converging the new environments", interval=0.01)
    os.kill(leader.pid, signal.SIGSTOP)
    try:
        standby.wait_for(lambda: leads(standby, "shared", "gpu"), 3 * LEASE_SECONDS, "the standby to take over")
        standby.wait_converged(many, timeout=90)  # finishes what the paused leader was writing
        before = quiet_writes(shared)
        counted_before = own_writes(standby, "shared")
        last = EXTRAS[-1]
        extra = remote.work / "environments" / f"extra-{last}.yaml"
        extra.write_text(extra.read_text().replace("  access:", '  quota: {cpu: "7"}\n  access:'))
        newer = remote.commit(f"extra-{last}: a quota of its own")
        standby.wait_converged(newer, timeout=90)
        by_server = quiet_writes(shared) - before
        by_itself = own_writes(standby, "shared") - counted_before
        print(f"\nthe new leader converged {newer[:12]} with {by_server} writes counted by the API server, "
              f"{by_itself:.0f} by itself")
        assert by_server > 0 and by_itself == by_server, "the controller's own write count is not the server's"
        resumed_at = quiet_writes(shared)
    finally:
        os.kill(leader.pid, signal.SIGCONT)

    leader.wait_for(lambda: not leader.status()["leader"]["isLeader"], 3 * LEASE_SECONDS,
                    "the resumed replica to see that it lost its leases")
    counted = own_writes(leader, "shared")
    time.sleep(LEASE_SECONDS)
    # No write passes the guard after the pause: the replica's own count, taken as each write passes it, stands.
    assert own_writes(leader, "shared") == counted, "a write passed the guard after the paused leader resumed"
    # What had passed the guard when the process was frozen is already on its way and cannot be recalled (as with
    # Kubernetes' own controllers): at most one request per converge worker, never a new one.
    late = write_requests(shared) - resumed_at
    assert late <= ConvergeOptions().workers, f"{late} writes reached the API server after the leader resumed"
    print(f"writes in flight when the leader was frozen, sent when it resumed: {late}")
    refused = [line for line in leader.logs() if line.get("message") == "stopped writing"]
    assert refused and "not sent" in refused[-1]["reason"], leader.log_tail()
    print("the resumed replica:", refused[-1]["reason"])
    quota = shared.get("ResourceQuota", f"{remote.prefix}-x{last}", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "7", "the newer commit was reverted"
    assert leader.status()["clusters"]["shared"]["state"] == "standby"
