"""Fixtures on real control planes: clusters "shared" and "gpu", started once per session from testenv/.

Integration tests never skip: when the control plane cannot start (no binaries, no Go to build them, a component
that dies), every test errors with the reason, in CI and locally alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testenv import clients, controlplane, polling, users

from . import hygiene

CLUSTERS = ("shared", "gpu")
HERE = Path(__file__).resolve().parent
SESSION_CLUSTERS = pytest.StashKey[controlplane.TestEnv]()  # set while the session's clusters run

ClientFactory = Callable[..., client.ApiClient]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory,
                  pytestconfig: pytest.Config) -> Iterator[controlplane.TestEnv]:
    directory = tmp_path_factory.mktemp("testenv")
    try:
        env = controlplane.up(CLUSTERS, directory)
    except Exception as error:
        pytest.fail(f"the test control plane did not start ({type(error).__name__}): {error}", pytrace=False)
    pytestconfig.stash[SESSION_CLUSTERS] = env
    try:
        yield env
    finally:
        del pytestconfig.stash[SESSION_CLUSTERS]
        # Logs stay under pytest's temporary directory for a failed run to be read; processes never do.
        controlplane.down(env, keep=True)


@pytest.fixture(scope="module")
def own_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.TestEnv]:
    """Clusters "shared" and "gpu" for one test module alone: for outages, for tests whose hundreds of objects
    would keep the session clusters' controller managers busy while other tests run, and for tests that change what
    the whole cluster admits."""
    directory = tmp_path_factory.mktemp("own-testenv")
    try:
        env = controlplane.up(["shared", "gpu"], directory)
    except Exception as error:
        pytest.fail(f"the test's own control plane did not start ({type(error).__name__}): {error}", pytrace=False)
    try:
        yield env
    finally:
        controlplane.down(env, keep=True)


@pytest.fixture(autouse=True)
def _environments_removed_after_the_test(pytestconfig: pytest.Config) -> Iterator[None]:
    """The namespaces of the private repositories the test made are deleted after it (hygiene.py)."""
    yield from _removing_what_is_made(pytestconfig)


@pytest.fixture(autouse=True, scope="module")
def _environments_removed_after_the_module(pytestconfig: pytest.Config) -> Iterator[None]:
    """Those of a module's own fixtures (a landscape converged once for all its tests), after the module."""
    yield from _removing_what_is_made(pytestconfig)


def _removing_what_is_made(config: pytest.Config) -> Iterator[None]:
    start = hygiene.recorded()
    yield
    env = config.stash.get(SESSION_CLUSTERS, None)  # the session's clusters, if a test started them
    if env is not None:
        hygiene.remove(env, hygiene.made_since(start))


@pytest.fixture(scope="session")
def kubeconfig(control_plane: controlplane.TestEnv) -> Path:
    """DIR/kubeconfig: contexts "shared" and "gpu", as the admin."""
    return control_plane.kubeconfig


@pytest.fixture
def api_client(control_plane: controlplane.TestEnv) -> Iterator[ClientFactory]:
    """``api_client(cluster, user="admin")``: an ApiClient acting as that user (e.g. "alice", see users.json)."""
    made: list[client.ApiClient] = []

    def make(cluster: str, user: str = users.ADMIN) -> client.ApiClient:
        made.append(clients.api_client(control_plane, cluster, user))
        return made[-1]

    yield make
    for api in made:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(api_client: ClientFactory) -> Iterator[Callable[[str], str]]:
    """``namespace(cluster)``: a fresh namespace whose default service account exists (pods need it); deleted after."""
    created: list[tuple[client.CoreV1Api, str]] = []

    def make(cluster: str) -> str:
        core = client.CoreV1Api(api_client(cluster))
        name = f"test-{uuid.uuid4().hex[:8]}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        created.append((core, name))
        polling.until(
            lambda: core.list_namespaced_service_account(name, field_selector="metadata.name=default").items,
            timeout=30,
            what=f"the default service account in {cluster}/{name} (made by the controller manager)",
        )
        return name

    yield make
    for core, name in created:
        try:
            core.delete_namespace(name)
        except ApiException as error:
            if error.status != 404:
                raise
