"""The raw transport against a real kube-apiserver: a LIST page of many megabytes, a watch stream stalled
mid-body by the read deadline, and 32 threads sharing one client's connections without leaking a descriptor."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconciler.kube import errors, wire
from reconciler.kube.client import ClusterClient
from reconciler.kube.resources import resource_for

from .conftest import ClientFactory

pytestmark = pytest.mark.integration


def _config_map(namespace: str, name: str, size: int) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": {"blob": name[-1] * size}}


def test_a_list_page_of_many_megabytes_arrives_whole(api_client: ClientFactory,
                                                       namespace: Callable[[str], str]) -> None:
    ns = namespace("shared")
    client = ClusterClient("shared", api_client("shared"))
    names = [f"big-{i:02d}{'abcdefghij'[i % 10]}" for i in range(16)]
    for name in names:
        client.apply(_config_map(ns, name, 900_000))
    items = client.list("ConfigMap", namespace=ns)
    client.close()
    blobs = {item["metadata"]["name"]: item["data"]["blob"] for item in items if item["metadata"]["name"] in names}
    assert blobs == {name: name[-1] * 900_000 for name in names}


def test_a_stream_stalled_mid_body_hits_the_read_deadline_and_the_client_goes_on(api_client: ClientFactory,
                                                                                 namespace: Callable[[str], str]
                                                                                 ) -> None:
    ns = namespace("shared")
    client = ClusterClient("shared", api_client("shared"))
    client.apply(_config_map(ns, "watched", 10))
    path = resource_for("ConfigMap").collection_path(ns)
    # A watch sends its first event, then nothing until its 30 s end: the body stalls part way.
    with pytest.raises(errors.Unreachable, match="did not answer within 1s"):
        client.request("GET", path, "watch configmaps", query={"watch": "1", "timeoutSeconds": "30"}, timeout=1.0)
    assert [item["metadata"]["name"] for item in client.list("ConfigMap", namespace=ns)
            if item["metadata"]["name"] == "watched"] == ["watched"]
    client.close()


def test_thirty_two_threads_share_one_client_and_leave_no_descriptor_open(api_client: ClientFactory,
                                                                         namespace: Callable[[str], str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    connects: list[int] = []
    connect = wire.Wire._connect

    def counted(self: wire.Wire, deadline: tuple[float, float]) -> object:
        connects.append(1)
        return connect(self, deadline)
    monkeypatch.setattr(wire.Wire, "_connect", counted)
    ns = namespace("shared")
    api = api_client("shared")
    api.configuration.connection_pool_maxsize = 32  # as the reconciler's own clients keep (api_sources.POOL_SIZE)
    baseline = len(os.listdir("/proc/self/fd"))
    client = ClusterClient("shared", api)
    for index in range(32):
        client.apply(_config_map(ns, f"small-{index}", 10))

    def read(index: int) -> str:
        got = client.get("ConfigMap", ns, f"small-{index % 32}")
        return got["metadata"]["name"] if got else ""
    with ThreadPoolExecutor(32) as pool:
        assert list(pool.map(read, range(2_000))) == [f"small-{index % 32}" for index in range(2_000)]
    assert len(connects) <= 32, "kept TLS connections were dropped instead of reused"
    client.close()
    assert len(os.listdir("/proc/self/fd")) <= baseline


@pytest.mark.parametrize("size", [3_200_000, 8_000_000])
def test_a_body_over_the_servers_limit_fails_in_the_servers_words_not_as_a_closed_connection(
        api_client: ClientFactory, namespace: Callable[[str], str], size: int) -> None:
    """The API server answers 413 and closes while a large body is still being sent."""
    ns = namespace("shared")
    client = ClusterClient("shared", api_client("shared"))
    with pytest.raises(errors.KubeError, match=r"Request entity too large: limit is \d+ \(HTTP 413\)"):
        client.apply(_config_map(ns, "too-big", size))
    assert client.get("ConfigMap", ns, "too-big") is None
    client.close()
