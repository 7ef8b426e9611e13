"""Soak: a long-running controller fetches thousands of times; memory and file descriptors must stay flat.

Every git operation is a short-lived subprocess, so nothing accumulates in the controller's own process. Run with
``-s`` to see the figures: ``.venv/bin/pytest tests/integration/e2e/test_soak.py -s``.
"""

from __future__ import annotations

import gc
import os
import re
import resource
import subprocess
import time
from pathlib import Path

import pytest

from reconciler.config.schema import COMPILE_AFTER
from reconciler.source.mirror import Mirror, Remote, remove_tree
from testenv import controlplane

from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration

FETCHES = 300
IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


@pytest.fixture(scope="module")
def kubeconfig(own_control_plane: controlplane.TestEnv) -> Path:
    """A control plane of its own: other tests' namespaces, deleted after them, change objects the controller
    watches, and every such change starts a converge, whose threads and CPU would count in what is measured here."""
    return own_control_plane.kubeconfig


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _commit(repo: Path, number: int) -> None:
    (repo / "quota.yaml").write_text(f"gpu: {number}\n")
    subprocess.run(["git", *IDENTITY, "commit", "--quiet", "-am", f"commit {number}"], cwd=repo, check=True)


def test_memory_and_descriptors_stay_flat_over_many_fetches(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=origin, check=True)
    (origin / "quota.yaml").write_text("gpu: 0\n")
    subprocess.run(["git", "add", "-A"], cwd=origin, check=True)
    _commit(origin, 0)
    mirror = Mirror(Remote.parse(str(origin)), tmp_path / "mirror.git")

    def cycle(number: int) -> None:
        _commit(origin, number)
        assert mirror.ls_remote() != mirror.head
        update = mirror.fetch()
        tree = mirror.checkout(update.commit, tmp_path / "trees" / update.commit)
        assert (tree / "quota.yaml").read_text() == f"gpu: {number}\n"
        remove_tree(tree)

    for number in range(1, 21):  # warm up: imports, allocator pools
        cycle(number)
    gc.collect()
    rss_before, fds_before = _rss_kib(), _fds()
    began = time.monotonic()
    for number in range(21, 21 + FETCHES):
        cycle(number)
    gc.collect()
    rss_after, fds_after = _rss_kib(), _fds()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\n{FETCHES} ls-remote + fetch + checkout cycles in {time.monotonic() - began:.1f}s: "
          f"RSS {rss_before} KiB -> {rss_after} KiB ({rss_after - rss_before:+d} KiB), peak {peak} KiB; "
          f"open fds {fds_before} -> {fds_after}")
    assert fds_after == fds_before
    assert rss_after - rss_before < 2048, "memory grows with fetches"


COMMITS = 200


def test_soak_the_controller_follows_200_commits_with_flat_memory_and_descriptors(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("soak")
    controller = start_controller("--repo", remote.url, "--interval", "10m", "--kubeconfig", kubeconfig,
                                  "--webhook-secret-file", tmp_path / "secret")
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    prod = remote.work / "environments" / "prod.yaml"
    value = 8

    def one_commit() -> None:
        nonlocal value
        text = prod.read_text()
        value = value % 16 + 1
        prod.write_text(re.sub(r"gpu: \d+\n", f"gpu: {value}\n", text, count=1))
        revision = remote.commit(f"gpu quota {value}")
        assert controller.post_webhook(b"{}", "soak") == 202
        controller.wait_for(lambda: controller.cluster_revision("gpu") == revision, 30, f"commit {revision[:12]}",
                            interval=0.02)

    def figures() -> tuple[int, int, int]:
        time.sleep(1.0)  # no request in flight: this test's own polling opens sockets and handler threads
        return controller.rss_kib(), controller.open_fds(), controller.threads()

    # Warm up past the one-time costs: a kind's schema is compiled once COMPILE_AFTER of its documents were validated
    # (about 10 MiB, once), and each commit here validates one changed document.
    for _ in range(COMPILE_AFTER + 10):
        one_commit()
    rss_before, fds_before, threads_before = figures()
    began = time.monotonic()
    for _ in range(COMMITS):
        one_commit()
    elapsed = time.monotonic() - began
    rss_after, fds_after, threads_after = figures()
    print(f"\nsoak: {COMMITS} commits converged one by one in {elapsed:.1f}s ({elapsed / COMMITS:.2f}s each); "
          f"controller RSS {rss_before} KiB -> {rss_after} KiB ({rss_after - rss_before:+d} KiB), open fds "
          f"{fds_before} -> {fds_after}, threads {threads_before} -> {threads_after}")
    assert fds_after == fds_before
    assert threads_after == threads_before
    assert rss_after - rss_before < 8 * 1024
    assert controller.terminate() == 0
