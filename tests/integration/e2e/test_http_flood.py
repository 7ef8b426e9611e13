"""/status and /metrics requested in a tight loop, without credentials, cost the controller little of its own work:
each rendering (a snapshot under the lock the cluster workers record their progress under, its JSON, the metrics
exposition) is served again for a tenth of a second. Before, every request made its own, 4 to 8 ms of the
controller's CPU each with 23 targets, and a commit took 2 to 4 times as long to converge during the flood (3.2 s
against 0.8 s)."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from testenv import controlplane

from .conftest import WEBHOOK_SECRET, StartController
from .harness import ControllerProcess, GitRemote, add_environments

pytestmark = pytest.mark.integration

CLIENTS = 4  # half of the server's workers, each asking again as soon as it has an answer
CPU_PER_REQUEST = 0.001  # seconds of the controller's CPU a flooding request may cost at most


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    """A control plane of its own: other tests' namespaces, deleted after them, change objects the controller
    watches, and every such change starts a converge, whose threads and CPU would count in what is measured here."""
    return own_control_plane.kubeconfig


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks of 1/100 s


def flood(controller: ControllerProcess, path: str, stop: threading.Event, served: list[int]) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError), urllib.request.urlopen(controller.url(path), timeout=5) as response:
            response.read()
            served.append(1)


def test_a_tight_loop_of_status_and_metrics_costs_the_controller_little(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    add_environments(remote.work, remote.prefix, range(20))
    revision = remote.commit("twenty more environments: a /status worth rendering")
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(WEBHOOK_SECRET + "\n")
    controller = start_controller("--repo", remote.url, "--interval", "10m", "--kubeconfig", kubeconfig,
                                  "--webhook-secret-file", secret_file)
    controller.wait_converged(revision, timeout=120)

    stop, served = threading.Event(), []
    clients = [threading.Thread(target=flood, args=(controller, path, stop, served), daemon=True)
               for path in ("/status", "/metrics") * (CLIENTS // 2)]
    idle = cpu_seconds(controller.pid)
    time.sleep(1.0)
    idle = cpu_seconds(controller.pid) - idle  # what the controller spends in a second of nothing
    began, before = time.monotonic(), cpu_seconds(controller.pid)
    for client in clients:
        client.start()
    try:
        revision = remote.edit("environments/extra-1.yaml", "extends: [standard]",
                               "extends: [standard]\n  quota: {cpu: \"11\"}")
        assert controller.post_webhook(b"{}", WEBHOOK_SECRET) == 202
        converged = controller.wait_converged(revision, timeout=60)
        time.sleep(max(0.0, 3.0 - (time.monotonic() - began)))
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=10)
    spent = cpu_seconds(controller.pid) - before - idle * (time.monotonic() - began)
    print(f"\n{len(served)} requests in {time.monotonic() - began:.1f}s cost the controller {spent:.2f} CPU-s "
          f"({1000 * spent / max(1, len(served)):.2f} ms each); a commit converged in {converged:.2f}s meanwhile")
    assert len(served) > 100, "the flood must reach the server"
    assert spent <= CPU_PER_REQUEST * len(served), "each request rendered /status or /metrics again"
    assert controller.get("/healthz") == (200, "ok\n")
    assert controller.terminate() == 0
