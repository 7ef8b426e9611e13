"""The controller stopped in the middle of a converge: SIGKILL, then a restart, ends converged with a consistent
inventory and nothing deleted; SIGTERM finishes the object being written and exits 0.

These tests create a hundred namespaces: they run on a control plane of their own, so the session clusters'
controller managers are not kept busy while other tests run."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.converge import engine as converge
from reconciler.kube.client import ClusterClient
from reconciler.plan import inventory as inv
from reconciler.plan.inventory import ObjectRef
from reconciler.render import render_target
from testenv import controlplane

from ..support import OUR_RESOURCES, clients
from .conftest import StartController
from .harness import GitRemote, add_environments

pytestmark = pytest.mark.integration

_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$")


def deletes(client: ClusterClient) -> int:
    """DELETE requests the API server counted on the kinds the reconciler manages (all clients)."""
    _, url, headers, _, _ = client.api.param_serialize("GET", "/metrics", auth_settings=["BearerToken"])
    text = client.api.rest_client.request("GET", url, headers=headers).read().decode()
    total = 0
    for line in text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = {k: v.strip('"') for k, v in (part.split("=", 1) for part in match["labels"].split(","))}
        if labels.get("verb") == "DELETE" and labels.get("resource") in OUR_RESOURCES and not labels.get("dry_run"):
            total += int(float(match["value"]))
    return total


def converging(controller_status: dict[str, object], revision: str, written: int) -> bool:
    shared = controller_status["clusters"].get("shared") or {}  # type: ignore[attr-defined]
    return bool(shared.get("state") == "converging" and shared.get("convergingRevision") == revision
                and shared.get("writtenThisSync", 0) >= written)


def assert_consistent(remote: GitRemote, cluster: dict[str, ClusterClient]) -> int:
    """Every target's inventory lists exactly its rendered objects, all of which exist; returns how many."""
    landscape = load_landscape(remote.work)
    checked = 0
    for target in landscape.targets:
        client = cluster[target.cluster.name]
        wanted = {ObjectRef.of(obj) for obj in render_target(target, landscape)}
        stored = client.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name(target.namespace))
        assert stored is not None, f"no inventory for {target.key}"
        recorded = inv.from_configmap(stored)
        assert recorded is not None and set(recorded.objects) == wanted, target.key
        for ref in wanted:
            assert client.get(ref.kind, ref.namespace or None, ref.name) is not None, f"{ref} is missing"
            checked += 1
    for name, client in cluster.items():
        plans = converge.plan_only(client, landscape, landscape.select(name), False)
        assert not [t.key for t in plans.targets if t.pending], f"cluster {name} still has changes pending"
    return checked


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    return own_control_plane.kubeconfig


def test_sigkill_in_the_middle_of_a_converge_then_a_restart_ends_converged(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    add_environments(remote.work, remote.prefix, range(30))
    base = remote.commit("30 more environments")
    cluster = clients(remote.work, kubeconfig)
    args = ("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    first = start_controller(*args, name="first")
    first.wait_converged(base, timeout=120)
    deleted_before = {name: deletes(client) for name, client in cluster.items()}

    # One commit that changes every environment of the profile and adds 30 more: hundreds of writes.
    profile = remote.work / "profiles" / "standard.yaml"
    profile.write_text(profile.read_text().replace('cpu: "16"', 'cpu: "20"'))
    add_environments(remote.work, remote.prefix, range(30, 60))
    wide = remote.commit("more CPU for every environment; 30 more environments")
    first.wait_for(lambda: converging(first.status(), wide, 60), 60, "the converge of the wide commit under way")
    first.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    first.process.wait(timeout=10)  # type: ignore[union-attr]

    landscape = load_landscape(remote.work)
    pending = [t.key for t in converge.plan_only(cluster["shared"], landscape, landscape.select("shared"),
                                                 False).targets if t.pending]
    assert pending, "the kill came too late: nothing was left to converge"
    print(f"\nkilled with {len(pending)} of {len(landscape.select('shared'))} targets of shared unconverged")

    second = start_controller(*args, name="first")  # same work directory: leftovers of the killed one are cleared
    second.wait_converged(wide, timeout=180)
    checked = assert_consistent(remote, cluster)
    assert {name: deletes(client) for name, client in cluster.items()} == deleted_before, "nothing may be deleted"
    print(f"after the restart: {checked} objects in {len(landscape.targets)} inventories, consistent")
    assert second.terminate() == 0


def test_sigterm_finishes_the_object_being_written_and_exits_cleanly(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    add_environments(remote.work, remote.prefix, range(40))
    revision = remote.commit("40 more environments")
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    controller.wait_for(lambda: converging(controller.status(), revision, 40), 60, "a converge under way")
    began = time.monotonic()
    assert controller.terminate(timeout=30) == 0
    stopped_in = time.monotonic() - began
    print(f"\nSIGTERM mid-converge: exited 0 after {stopped_in:.2f}s")
    messages = [entry["message"] for entry in controller.logs()]
    assert "stopped writing" in messages and messages[-1] == "stopped"

    # Whatever was written is owned: every object carrying our labels in these namespaces is in an inventory.
    shared = clients(remote.work, kubeconfig)["shared"]
    owned: set[ObjectRef] = set()
    for stored in shared.list("ConfigMap", inv.selector(f"platform-{remote.prefix}"), namespace=inv.SYSTEM_NAMESPACE):
        recorded = inv.from_configmap(stored)
        assert recorded is not None
        owned |= set(recorded.objects)
    written = [ObjectRef.of(obj) for kind in ("Namespace", "ResourceQuota", "Deployment", "RoleBinding")
               for obj in shared.list(kind, "reconciler/environment,app.kubernetes.io/managed-by=reconciler")
               if (obj["metadata"].get("namespace") or obj["metadata"]["name"]).startswith(f"{remote.prefix}-")]
    assert written and set(written) <= owned
    assert len({r.namespace or r.name for r in written}) < 43, "the converge was not interrupted"
