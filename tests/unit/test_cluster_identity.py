"""One cluster, one name: server URLs compared after normalisation, read from the kubeconfig without connecting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config.model import Cluster, ClusterConnection
from reconciler.errors import Location
from reconciler.kube.connect import context_servers
from reconciler.kube.identity import normalise_server, same_servers, same_uids


@pytest.mark.parametrize("alias", ["https://api.example.com", "HTTPS://API.Example.COM:443/", "api.example.com",
                                   "https://api.example.com./", " https://api.example.com:443 "])
def test_spellings_of_one_server_are_one_server(alias: str) -> None:
    assert normalise_server(alias) == normalise_server("https://api.example.com:443")


@pytest.mark.parametrize("alias", ["https://[::ffff:127.0.0.1]:6443", "https://[0:0:0:0:0:ffff:7f00:1]:6443/",
                                   "https://127.0.0.1:6443//"])
def test_spellings_of_one_ip_address_are_one_server(alias: str) -> None:
    assert normalise_server(alias) == normalise_server("https://127.0.0.1:6443")


@pytest.mark.parametrize(("one", "other"), [("https://127.0.0.1:6443", "https://127.0.0.1:6444"),
                                            ("https://a.example.com", "https://b.example.com"),
                                            ("http://api.example.com", "https://api.example.com"),
                                            ("https://proxy.example.com/one", "https://proxy.example.com/two")])
def test_different_servers_stay_different(one: str, other: str) -> None:
    assert normalise_server(one) != normalise_server(other)


def test_ipv6_addresses_are_compared_in_their_short_form() -> None:
    assert normalise_server("https://[0:0:0:0:0:0:0:1]:6443") == normalise_server("https://[::1]:6443")


def _cluster(name: str, context: str, line: int) -> Cluster:
    return Cluster(name, ClusterConnection(context=context), {}, Location("clusters.yaml", line))


def test_two_cluster_documents_on_one_server_are_named_with_their_lines() -> None:
    clusters = {c.name: c for c in (_cluster("east", "east", 4), _cluster("alias", "alias", 12),
                                    _cluster("west", "west", 20))}
    servers = {"east": "https://10.0.0.1:6443", "alias": "https://10.0.0.1:6443/", "west": "https://10.0.0.2:6443"}
    assert same_servers(clusters, servers) == [
        "Cluster 'alias' (clusters.yaml:12) and Cluster 'east' (clusters.yaml:4) reach the same API server (server "
        "https://10.0.0.1:6443): one cluster may have one name only, or two environments could claim one namespace "
        "through the two names. Remove one of the Cluster documents and point its targets at the other; nothing is "
        "written to either until then"]
    assert same_servers(clusters, servers, only="west") == []
    assert same_uids(clusters, {"east": "u1", "west": "u1"})[0].startswith(
        "Cluster 'east' (clusters.yaml:4) and Cluster 'west' (clusters.yaml:20) reach the same API server "
        "(namespace kube-system has uid u1 on both)")


def test_context_servers_come_from_the_kubeconfig_without_connecting(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "clusters": [{"name": "c1", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "contexts": [{"name": "east", "context": {"cluster": "c1", "user": "u"}},
                     {"name": "alias", "context": {"cluster": "c1", "user": "v"}}],
    }))
    clusters = [_cluster("east", "east", 4), _cluster("alias", "alias", 12), _cluster("gone", "missing", 20)]
    assert context_servers(clusters, kubeconfig) == {"east": "https://10.0.0.1:6443",
                                                     "alias": "https://10.0.0.1:6443"}
