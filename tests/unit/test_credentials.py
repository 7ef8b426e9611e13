"""Reading a cluster's endpoint again from its credential source: on demand (after a 401) at most once a second,
on a schedule, and never replacing a working client with nothing when the source cannot be read. The real API
server and a rotated token file are exercised by tests/integration/e2e/test_credentials.py."""

from __future__ import annotations

from reconciler.kube.credentials import ApiSource
from reconciler.kube.endpoint import Endpoint, Static
from reconciler.kube.errors import ConnectionConfigError

from .test_controller_leader import Clock


class Source:
    """Builds a new endpoint carrying the token currently "in the file"."""

    def __init__(self) -> None:
        self.token = "first"
        self.broken = False
        self.built = 0

    def __call__(self) -> Endpoint:
        if self.broken:
            raise ConnectionConfigError("cluster shared: cannot use context 'shared' from kubeconfig k: no such file")
        self.built += 1
        return Endpoint("https://127.0.0.1:1", credential=Static(f"Bearer {self.token}"))


def token(endpoint: Endpoint) -> str:
    return endpoint.credential.headers()["authorization"]


def test_a_reload_reads_the_rotated_credential_at_most_once_a_second() -> None:
    source, clock = Source(), Clock()
    api = ApiSource("shared", source, clock=clock)
    source.token = "rotated"
    assert not api.reload("HTTP 401"), "just built: concurrent 401s of one converge rebuild once"
    clock.now += 1.0
    assert api.reload("HTTP 401") and token(api.current()) == "Bearer rotated"
    assert source.built == 2


def test_credentials_are_refreshed_on_a_schedule() -> None:
    source, clock = Source(), Clock()
    api = ApiSource("shared", source, refresh=300, clock=clock)
    source.token = "rotated"
    clock.now += 299
    assert token(api.current()) == "Bearer first"
    clock.now += 1
    assert token(api.current()) == "Bearer rotated"


def test_an_unreadable_source_keeps_the_current_client() -> None:
    source, clock = Source(), Clock()
    api = ApiSource("shared", source, clock=clock)
    source.broken = True
    clock.now += 5
    assert not api.reload("HTTP 401")
    assert token(api.current()) == "Bearer first"
