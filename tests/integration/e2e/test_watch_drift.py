"""`reconciler run` on its watch cache: a resync with nothing changed sends no request to the API servers, and
drift seen by a watch is undone at once, long before the next resync (an hour away). How fast is measured by
bench/controller.py, not asserted here: this machine is shared."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.converge.engine import MANAGED_SELECTOR
from testenv import audit, controlplane

from ..support import audit_marks, clients, reconciler_requests
from .conftest import StartController
from .harness import ControllerProcess, GitRemote, git

pytestmark = pytest.mark.integration

QUOTA = "environment-quota"
UNDONE_WITHIN = 30.0  # seconds: far below the resync of an hour, far above the figure bench/controller.py measures
# Lease renewals of --leader-elect are the controller's only requests while nothing changes: two seconds apart,
# whatever the number of targets. They are left out here.
NOT_COUNTED = ("leases",)


def _converged_syncs(controller: ControllerProcess) -> Counter[str]:
    return Counter(e.get("cluster", "") for e in controller.logs() if e.get("message") == "converged")


def _resynced(controller: ControllerProcess, seen: Counter[str], more: int) -> Callable[[], bool]:
    return lambda: all(_converged_syncs(controller)[name] >= n + more for name, n in seen.items())


def test_a_no_op_resync_sends_no_request_to_the_api_servers(
        remote: GitRemote, start_controller: StartController, kubeconfig: Path,
        control_plane: controlplane.TestEnv) -> None:
    lease = f"watch-{uuid.uuid4().hex[:8]}"
    controller = start_controller("--repo", remote.url, "--interval", "1h", "--resync", "1s", "--kubeconfig",
                                  kubeconfig, "--leader-elect", "--lease-name", lease)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    # Three windows of at least three resyncs per cluster, counted in the audit log for the controller's credential
    # and User-Agent. What it sends once (an Event for an agent that became ready, a watch renewed) falls in one
    # window: the fewest seen in any window are what a resync sends.
    fewest: dict[str, Counter[audit.Key]] = {}
    written = _writes(controller)
    for _ in range(3):
        syncs, marks = _converged_syncs(controller), audit_marks(control_plane)
        controller.wait_for(_resynced(controller, syncs, 3), 30, "three resyncs of each cluster")
        for name, counted in reconciler_requests(marks).items():
            sent = Counter({k: n for k, n in counted.items() if k[1] not in NOT_COUNTED})
            fewest[name] = sent if name not in fewest else Counter(
                {key: min(n, sent.get(key, 0)) for key, n in fewest[name].items()})
    assert {name: +sent for name, sent in fewest.items()} == {name: Counter() for name in control_plane.clusters}
    assert _writes(controller) == written


def _writes(controller: ControllerProcess) -> float:
    """The controller's own count of its writes, Events aside (an agent that became ready is told once)."""
    return sum(v for k, v in controller.metrics().items()
               if k.startswith("reconciler_write_requests_total") and 'resource="events"' not in k)


def _seconds_until(check: Callable[[], bool], timeout: float) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < timeout, f"not undone within {timeout}s"
        time.sleep(0.02)
    return time.monotonic() - began


def test_drift_is_undone_without_a_resync(
        remote: GitRemote, start_controller: StartController, kubeconfig: Path) -> None:
    cluster = clients(remote.work, kubeconfig)
    controller = start_controller("--repo", remote.url, "--interval", "1h", "--resync", "1h", "--kubeconfig",
                                  kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    gpu, shared = cluster["gpu"], cluster["shared"]
    prod, dev = f"{remote.prefix}-prod", f"{remote.prefix}-dev"

    def gpu_quota() -> str | None:
        quota = gpu.get("ResourceQuota", prod, QUOTA)
        return None if quota is None else str(quota["spec"]["hard"].get("requests.nvidia.com/gpu"))

    gpu.merge_patch("ResourceQuota", prod, QUOTA, {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}})
    edited = _seconds_until(lambda: gpu_quota() == "8", UNDONE_WITHIN)
    binding = next(b for b in shared.list("RoleBinding", MANAGED_SELECTOR, namespace=dev)
                   if b["metadata"]["name"].startswith("access-"))["metadata"]["name"]
    assert shared.delete("RoleBinding", dev, binding)
    deleted = _seconds_until(lambda: shared.get("RoleBinding", dev, binding) is not None, UNDONE_WITHIN)
    print(f"\nedited quota undone after {edited:.2f}s, deleted RoleBinding after {deleted:.2f}s (resync 1h)")
    controller.wait_for(lambda: {e["cluster"] for e in controller.logs() if e.get("message") == "drift undone"}
                        == {"gpu", "shared"}, 10, "both clusters' drift logged as undone")
