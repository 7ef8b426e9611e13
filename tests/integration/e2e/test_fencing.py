"""Split brain: a leader paused (SIGSTOP) in the middle of a converge for longer than its lease, while the standby
takes over and converges a newer commit, has no write reach etcd when it resumes (SIGCONT). Its write guard refuses
every queued write before it is sent; a request that had passed the guard when the process froze is denied by the
API server's fence policy (deploy/admission-fence.yaml), because the Lease names the other replica by then.

The replicas run as deploy/ installs them: the reconciler's ServiceAccount, and on cluster "shared" (where their
Pods are) with the tokens of the Deployment's own Pods, which the API server ties to each Pod's name; "gpu" is
reached with a minted token, as a hub reaches a remote cluster, and is fenced by the guard alone. Writes are
counted by the API server itself. On a control plane of its own: the interrupted converge creates a dozen
namespaces, and the Lease has the name deploy/'s fence binding expects."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Forbidden
from testenv import controlplane, polling

from ..support import OUR_RESOURCES, api_as_token, clients, quiet_writes, write_requests
from .conftest import StartController
from .deployed import install, wait_until_enforced
from .harness import ControllerProcess, GitRemote, add_environments, git

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4
EXTRAS = range(12)
FENCE = "ValidatingAdmissionPolicy 'reconciler-fence' with binding 'reconciler-fence' denied request"
PODS = "/api/v1/namespaces/reconciler-system/pods"


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    return own_control_plane.kubeconfig


def replica_pods(admin: ClusterClient) -> list[dict[str, Any]]:
    """The two Pods of deploy/'s Deployment (Pending: the test cluster has no nodes, but their tokens are real)."""
    def pods() -> list[dict[str, Any]]:
        items = admin.request("GET", PODS, "list pods")["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]
    polling.until(lambda: len(pods()) == 2, timeout=30, what="the Deployment's two Pods")
    return sorted(pods(), key=lambda p: str(p["metadata"]["name"]))


def pod_token(admin: ClusterClient, pod: dict[str, Any]) -> str:
    """The token the kubelet would mount into the Pod: the ServiceAccount's, bound to that Pod."""
    metadata = pod["metadata"]
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
        "expirationSeconds": 3600,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": metadata["name"], "uid": metadata["uid"]}}}
    answer = admin.request("POST", "/api/v1/namespaces/reconciler-system/serviceaccounts/reconciler/token",
                           "request a token", body=request)
    return str(answer["status"]["token"])


def replica_kubeconfig(as_reconciler: Path, token: str, out: Path) -> Path:
    config = json.loads(as_reconciler.read_text())
    for user in config["users"]:
        if user["name"] == "reconciler@shared":
            user["user"] = {"token": token}
    out.write_text(json.dumps(config))
    return out


def own_writes(controller: ControllerProcess, cluster: str) -> float:
    """The controller's own count of its writes to the kinds the API server counts in write_requests."""
    return sum(value for name, value in controller.metrics().items()
               if name.startswith("reconciler_write_requests_total{") and f'cluster="{cluster}"' in name
               and any(f'resource="{resource}"' in name for resource in OUR_RESOURCES))


def leads(controller: ControllerProcess, *clusters: str) -> bool:
    leases = controller.status()["leader"].get("clusters") or {}
    return all((leases.get(c) or {}).get("isLeader") for c in clusters)


def test_a_paused_leader_has_no_write_reach_etcd_after_the_standby_took_over(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    admin = clients(remote.work, kubeconfig)
    as_reconciler = install(admin, kubeconfig, tmp_path / "reconciler.kubeconfig")
    for client in clients(remote.work, as_reconciler).values():
        wait_until_enforced(client)
    pods = replica_pods(admin["shared"])
    names = [str(p["metadata"]["name"]) for p in pods]
    tokens = [pod_token(admin["shared"], p) for p in pods]
    args = ("--repo", remote.url, "--interval", "1s", "--leader-elect", "--lease-duration", f"{LEASE_SECONDS}s")

    def replica(index: int) -> ControllerProcess:
        config = replica_kubeconfig(as_reconciler, tokens[index], tmp_path / f"replica-{index}.kubeconfig")
        return start_controller(*args, "--kubeconfig", config, name=names[index], env={"POD_NAME": names[index]})

    leader = replica(0)
    leader.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    standby = replica(1)
    standby.wait_for(lambda: standby.status()["revision"] == git(remote.work, "rev-parse", "HEAD"), 30,
                     "the standby to validate the revision")
    assert not standby.status()["leader"]["isLeader"]
    shared = admin["shared"]

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
        the_deposed_replica_is_denied_by_the_api_server(as_reconciler, tokens, names, f"{remote.prefix}-x0")
        sent_at, stored_at = write_requests(shared), write_requests(shared, code="2")
    finally:
        os.kill(leader.pid, signal.SIGCONT)

    leader.wait_for(lambda: not leader.status()["leader"]["isLeader"], 3 * LEASE_SECONDS,
                    "the resumed replica to see that it lost its leases")
    counted = own_writes(leader, "shared")
    time.sleep(LEASE_SECONDS)
    # No write passes the guard after the pause: the replica's own count, taken as each write passes it, stands.
    assert own_writes(leader, "shared") == counted, "a write passed the guard after the paused leader resumed"
    late = write_requests(shared) - sent_at
    stored = write_requests(shared, code="2") - stored_at
    print(f"writes that had passed the guard when the leader froze, sent when it resumed: {late}, "
          f"denied by the API server: {late - stored}")
    assert stored == 0, f"{stored} writes of the deposed leader reached etcd after it resumed"
    refused = [line for line in leader.logs() if line.get("message") == "stopped writing"]
    assert refused and "not sent" in refused[-1]["reason"], leader.log_tail()
    print("the resumed replica:", refused[-1]["reason"])
    quota = shared.get("ResourceQuota", f"{remote.prefix}-x{last}", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "7", "the newer commit was reverted"
    assert leader.status()["clusters"]["shared"]["state"] == "standby"


def the_deposed_replica_is_denied_by_the_api_server(as_reconciler: Path, tokens: list[str], names: list[str],
                                                    namespace: str) -> None:
    """What a late write of the paused leader meets: the same apply is admitted for the holder (as a dry run,
    which admission checks too) and denied, quoting the fence policy, for the deposed replica's own token."""
    holder, deposed = (ClusterClient("shared", api_as_token(as_reconciler, "shared", t)) for t in tokens[::-1])
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fence-check", "namespace": namespace}}
    holder.apply(config_map, dry_run=True)
    with pytest.raises(Forbidden) as denied:
        deposed.apply(config_map)
    print("the API server to the deposed replica:", denied.value.message)
    assert FENCE in denied.value.message and f"replica {names[0]} does not hold Lease reconciler-system/reconciler" \
        in denied.value.message and f"(holder: {names[1]}_" in denied.value.message, denied.value.message
