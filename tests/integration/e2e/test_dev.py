"""`reconciler dev` as a real process watching a working tree: errors on save, the plan, and --apply."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support import clients, private_repo
from .harness import ROOT

pytestmark = pytest.mark.integration


class Dev:
    def __init__(self, repo: Path, output: Path, *args: str) -> None:
        self.output = output
        self.handle = output.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "reconciler.cli", "dev", str(repo), *args],
                                        stdout=self.handle, stderr=subprocess.STDOUT, cwd=ROOT)

    def text(self) -> str:
        return self.output.read_text()

    def wait_for(self, needle: str, after: int = 0, timeout: float = 30) -> int:
        """Where ``needle`` appears in the output after position ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            position = self.text().find(needle, after)
            if position >= 0:
                return position
            assert self.process.poll() is None, f"reconciler dev exited:\n{self.text()}"
            assert time.monotonic() < deadline, f"{needle!r} not printed within {timeout}s:\n{self.text()[after:]}"
            time.sleep(0.05)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=20)
        self.handle.close()
        return code


@pytest.fixture
def dev_process() -> Iterator[list[Dev]]:
    started: list[Dev] = []
    yield started
    for dev in started:
        if dev.process.poll() is None:
            dev.process.kill()
            dev.process.wait()


def test_every_save_is_validated_and_planned(tmp_path: Path, kubeconfig: Path, dev_process: list[Dev]) -> None:
    repo = private_repo(tmp_path, "devp")
    dev = Dev(repo, tmp_path / "dev.out", "--kubeconfig", str(kubeconfig), "--cluster", "shared")
    dev_process.append(dev)
    position = dev.wait_for("Plan: 22 to create")
    assert "valid: 2 cluster(s)" in dev.text()

    environment = repo / "environments" / "dev.yaml"
    environment.write_text(environment.read_text().replace("role: edit", "role: root", 1))
    position = dev.wait_for("changed: environments/dev.yaml", position)
    position = dev.wait_for("environments/dev.yaml:", position)
    dev.wait_for("1 error(s); fix them and save again", position)

    environment.write_text(environment.read_text().replace("role: root", "role: view", 1))
    position = dev.wait_for("changed: environments/dev.yaml", position)
    dev.wait_for("Plan: 22 to create", position)
    assert dev.stop() == 0
    assert clients(repo, kubeconfig)["shared"].get("Namespace", None, "devp-dev") is None, "dev without --apply"


def test_apply_converges_on_every_save(tmp_path: Path, kubeconfig: Path, dev_process: list[Dev]) -> None:
    repo = private_repo(tmp_path, "deva")
    dev = Dev(repo, tmp_path / "dev.out", "--kubeconfig", str(kubeconfig), "--apply")
    dev_process.append(dev)
    position = dev.wait_for("Applied: 33 created")
    shared = clients(repo, kubeconfig)["shared"]
    assert shared.get("Deployment", "deva-dev", "ml-agent") is not None

    staging = repo / "environments" / "staging.yaml"
    staging.write_text(staging.read_text().replace('cpu: "32"', 'cpu: "40"'))
    position = dev.wait_for("changed: environments/staging.yaml", position)
    dev.wait_for("spec.hard.requests.cpu: 32 -> 40", position)
    quota = shared.get("ResourceQuota", "deva-staging", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "40"
    assert dev.stop() == 0
