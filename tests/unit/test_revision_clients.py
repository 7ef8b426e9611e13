"""The checks of one revision share one client per cluster: connected once, a failure to connect remembered (a
cluster that cannot be reached is not tried again by the next check), and every client closed with the set."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.config.model import Cluster, ClusterConnection
from reconciler.controller.clients import RevisionClients
from reconciler.errors import Location, ReconcilerError


def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gpu",
        "clusters": [{"name": "gpu", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "gpu", "user": {"token": "t"}}],
        "contexts": [{"name": "gpu", "context": {"cluster": "gpu", "user": "gpu"}}]}))
    return path


def cluster(name: str, context: str) -> Cluster:
    return Cluster(name, ClusterConnection(context=context), {}, Location("clusters.yaml", 1))


def test_each_cluster_is_connected_once_and_closed_with_the_set(tmp_path: Path) -> None:
    clients = RevisionClients(kubeconfig(tmp_path))
    first = clients.of(cluster("gpu", "gpu"))
    assert clients.of(cluster("gpu", "gpu")) is first
    clients.close()
    assert clients.of(cluster("gpu", "gpu")) is not first  # a closed client is never handed out again
    clients.close()


def test_a_cluster_that_cannot_be_connected_fails_every_check_with_the_same_error(tmp_path: Path) -> None:
    with RevisionClients(kubeconfig(tmp_path)) as clients:
        with pytest.raises(ReconcilerError, match="nowhere") as first:
            clients.of(cluster("edge", "nowhere"))
        with pytest.raises(ReconcilerError) as again:
            clients.of(cluster("edge", "nowhere"))
        assert again.value is first.value


def test_a_cluster_whose_connection_changed_gets_a_client_of_its_own(tmp_path: Path) -> None:
    with RevisionClients(kubeconfig(tmp_path)) as clients:
        before = clients.of(cluster("gpu", "gpu"))
        with pytest.raises(ReconcilerError):
            clients.of(cluster("gpu", "elsewhere"))
        assert clients.of(cluster("gpu", "gpu")) is before


def test_start_up_guardrails_name_each_cluster_that_could_not_be_read_and_why(tmp_path: Path) -> None:
    from reconciler.kube.guardrails import read_installed

    found = read_installed([cluster("gpu", "gpu"), cluster("edge", "nowhere")], kubeconfig(tmp_path), None)
    assert sorted(found.failed) == ["edge", "gpu"]
    assert "context 'nowhere'" in found.failed["edge"] and "is not in kubeconfig" in found.failed["edge"]
    assert "cannot reach https://127.0.0.1:1" in found.failed["gpu"]  # connected, then the read failed
