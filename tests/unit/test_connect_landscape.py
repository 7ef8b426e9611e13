"""The one way every command builds its clients: which clusters, through which context, what could not be used.

Clients are built from a real kubeconfig file; none of these tests sends a request (aliasing by server URL is
found from the file alone, and the other tests skip the identity GET with ``verify=False``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config.model import Cluster, ClusterConnection
from reconciler.errors import Location, ReconcilerError
from reconciler.kube.connect import ClientCache, ConnectOptions, connect_landscape
from reconciler.kube.identity import AliasedClusters


def _cluster(name: str, context: str, line: int) -> Cluster:
    return Cluster(name, ClusterConnection(context=context, context_location=Location("clusters.yaml", line)), {},
                   Location("clusters.yaml", line))


CLUSTERS = {"east": _cluster("east", "east", 4), "west": _cluster("west", "west", 12)}


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    """Contexts east and admin@west, each on a server of its own (nothing listens there: nothing is asked)."""
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "clusters": [{"name": "c1", "cluster": {"server": "https://127.0.0.1:9"}},
                     {"name": "c2", "cluster": {"server": "https://127.0.0.2:9"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "east", "context": {"cluster": "c1", "user": "u"}},
                     {"name": "admin@west", "context": {"cluster": "c2", "user": "u"}}],
    }))
    return path


def test_a_cluster_whose_context_is_missing_fails_alone_and_an_override_reaches_it(kubeconfig: Path) -> None:
    with connect_landscape(CLUSTERS, ConnectOptions(kubeconfig), verify=False) as found:
        assert sorted(found.clients) == ["east"]
        assert sorted(found.unusable) == ["west"]
        assert "'west'" in str(found.unusable["west"]) and "clusters.yaml:12" in str(found.unusable["west"])
    with connect_landscape(CLUSTERS, ConnectOptions(kubeconfig, ("west=admin@west",)), verify=False) as found:
        assert (sorted(found.clients), found.unusable) == (["east", "west"], {})
        assert found.clients["west"].server == "https://127.0.0.2:9"


def test_cluster_selects_one_and_a_bare_context_is_for_it(kubeconfig: Path) -> None:
    with connect_landscape(CLUSTERS, ConnectOptions(kubeconfig, ("admin@west",), "west"), verify=False) as found:
        assert (sorted(found.clients), found.unusable) == (["west"], {})


@pytest.mark.parametrize(("options", "message"), [
    (ConnectOptions(cluster="edge"), "--cluster edge: no such cluster in the repository; known: east, west"),
    (ConnectOptions(contexts=("edge=admin@edge",)), "--context edge=admin@edge: no cluster 'edge' in the repository; "
                                                    "known: east, west"),
    (ConnectOptions(contexts=("admin@west",)), "--context admin@west: say which cluster it is for"),
])
def test_a_flag_naming_no_cluster_stops_before_connecting(options: ConnectOptions, message: str) -> None:
    with pytest.raises(ReconcilerError, match=message.replace(".", r"\.")):
        connect_landscape(CLUSTERS, options)


def test_two_clusters_reaching_one_server_are_refused_from_the_kubeconfig_alone(kubeconfig: Path) -> None:
    with pytest.raises(AliasedClusters, match=r"Cluster 'east' .* and Cluster 'west' .* reach the same API server"):
        connect_landscape(CLUSTERS, ConnectOptions(kubeconfig, ("west=east",)))


def test_the_cache_keeps_a_client_while_its_connection_is_unchanged(kubeconfig: Path) -> None:
    cache = ClientCache()
    options = ConnectOptions(kubeconfig, ("west=admin@west",))
    first = connect_landscape(CLUSTERS, options, cache=cache, verify=False)
    first.close()  # the cache's clients stay open for the next landscape
    again = connect_landscape(CLUSTERS, options, cache=cache, verify=False)
    assert again.clients["east"] is first.clients["east"] and again.clients["west"] is first.clients["west"]
    moved = {**CLUSTERS, "west": _cluster("west", "east", 12)}
    assert connect_landscape(moved, ConnectOptions(kubeconfig), cache=cache, verify=False).clients["west"] \
        is not first.clients["west"]
    cache.close()
