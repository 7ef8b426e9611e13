"""Connections: a cluster reached through a kubeconfig kept in a Secret of the home cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.plan import inventory as inv
from testenv import controlplane

from .support import clients, private_repo

pytestmark = pytest.mark.integration


def test_a_cluster_can_be_reached_through_a_kubeconfig_secret(tmp_path: Path, kubeconfig: Path,
                                                               control_plane: controlplane.TestEnv) -> None:
    import base64

    import yaml

    from reconciler.config.model import Cluster, ClusterConnection, KubeconfigSecret
    from reconciler.kube.connect import connect

    config = yaml.safe_load(kubeconfig.read_text())
    config["current-context"] = "gpu"
    home = clients(private_repo(tmp_path, "p"), kubeconfig)["shared"]
    home.apply(inv.system_namespace())
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "gpu-kubeconfig", "namespace": inv.SYSTEM_NAMESPACE},
              "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(config).encode()).decode()}}
    home.request("POST", f"/api/v1/namespaces/{inv.SYSTEM_NAMESPACE}/secrets", "create secret", body=secret)
    cluster = Cluster("gpu", ClusterConnection(kubeconfig_secret=KubeconfigSecret(
        inv.SYSTEM_NAMESPACE, "gpu-kubeconfig", "kubeconfig", None)), {}, None)  # type: ignore[arg-type]
    remote = connect(cluster, home=home)
    assert remote.server == control_plane.cluster("gpu").server
    assert remote.get("Namespace", None, "kube-system") is not None
