"""Fixtures of the end-to-end tests: the controller as a real process against the session's two API servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..support import private_repo
from .harness import ControllerProcess, GitRemote, git

StartController = Callable[..., ControllerProcess]
WEBHOOK_SECRET = "webhook-secret-for-tests"


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    """The sample landscape, with namespaces and Platform named after the test, pushed to a bare repository."""
    prefix = "e" + uuid.uuid4().hex[:6]
    return GitRemote(private_repo(tmp_path, prefix), prefix=prefix)


@pytest.fixture
def start_controller(tmp_path: Path) -> Iterator[StartController]:
    """``start_controller(*args, env=None)``: `reconciler run ARGS` started and answering; killed after the test."""
    started: list[ControllerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, name: str | None = None) -> ControllerProcess:
        workdir = tmp_path / (name or f"controller-{len(started)}")
        process = ControllerProcess([str(a) for a in args], workdir, env)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def webhook_controller(remote: GitRemote, start_controller: StartController, kubeconfig: Path,
                       tmp_path: Path) -> ControllerProcess:
    """`reconciler run` with a webhook secret (WEBHOOK_SECRET) and a poll interval of 10 minutes, so that within a
    test only a signed webhook call makes it fetch; returned once it has converged the remote's first commit."""
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(WEBHOOK_SECRET + "\n")
    controller = start_controller("--repo", remote.url, "--interval", "10m", "--kubeconfig", kubeconfig,
                                  "--webhook-secret-file", secret_file)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    return controller
