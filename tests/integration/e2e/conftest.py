"""Fixtures of the end-to-end tests: the controller as a real process against the session's two API servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testenv import controlplane

from ..support import private_repo
from .harness import ControllerProcess, GitRemote

StartController = Callable[..., ControllerProcess]


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


@pytest.fixture(scope="module")
def own_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.TestEnv]:
    """Clusters "shared" and "gpu" for one test module alone: for outages, and for tests whose hundreds of objects
    would keep the session clusters' controller managers busy while other tests run."""
    directory = tmp_path_factory.mktemp("own-testenv")
    try:
        env = controlplane.up(["shared", "gpu"], directory)
    except Exception as error:
        pytest.fail(f"the test's own control plane did not start ({type(error).__name__}): {error}", pytrace=False)
    try:
        yield env
    finally:
        controlplane.down(env, keep=True)
