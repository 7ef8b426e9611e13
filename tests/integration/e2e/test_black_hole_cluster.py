"""A cluster whose API server accepts connections and never answers (a black hole: a hung load balancer, a
partitioned network): its client's deadline turns that into an error on /status within seconds, naming the server,
while the other cluster converges as usual."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration

REPORTED_WITHIN = 20.0  # the check of the credential and the dry run each wait one 8 s deadline at most


def test_a_black_hole_cluster_is_reported_within_seconds_and_the_other_converges(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        black_hole = f"https://127.0.0.1:{listener.getsockname()[1]}"
        config = json.loads(kubeconfig.read_text())
        for entry in config["clusters"]:
            if entry["name"] == "gpu":
                entry["cluster"]["server"] = black_hole
        (tmp_path / "black-hole.kubeconfig").write_text(json.dumps(config))
        began = time.monotonic()
        controller = start_controller("--repo", remote.url, "--interval", "1s", "--max-backoff", "2s",
                                      "--kubeconfig", tmp_path / "black-hole.kubeconfig")
        gpu = controller.wait_for(
            lambda: (lambda g: g if g and g.get("lastError") else None)(controller.status()["clusters"].get("gpu")),
            REPORTED_WITHIN, "an error for the gpu cluster on /status")
        print(f"\n{time.monotonic() - began:.1f}s after the start: {gpu['state']}: {gpu['lastError']}")
        assert f"{black_hole} did not answer within 8s" in gpu["lastError"]
        controller.wait_converged(git(remote.work, "rev-parse", "HEAD"), clusters=("shared",), timeout=30)
        assert controller.get("/healthz") == (200, "ok\n")
        assert controller.terminate() == 0
