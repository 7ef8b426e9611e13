"""One cluster, one name: a second Cluster document reaching an API server another already names is refused
before anything is written, whether the URLs show it or only the cluster's kube-system UID does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.kube.connect import connect, verify_worker
from reconciler.kube.identity import AliasedClusters
from testenv import controlplane

from .support import audit_marks, clients, private_repo, reconciler_writes, run_cli
from .test_diff_live import _git

pytestmark = pytest.mark.integration

ALIAS_CLUSTER = """\
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata:
  name: alias
spec:
  connection:
    context: alias
  nodePools:
    cpu: {nodeSelector: {pool: cpu}}
"""
INTRUDER = """\
apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata:
  name: intruder
spec:
  targets:
    - {cluster: alias, namespace: NAMESPACE}
  access:
    - {user: mallory@example.com, role: admin}
"""


def _with_alias(kubeconfig: Path, tmp_path: Path, server: str) -> Path:
    """The test kubeconfig plus a context "alias" for the shared cluster's API server, spelled ``server``."""
    config = json.loads(kubeconfig.read_text())
    shared = next(c for c in config["clusters"] if c["name"] == "shared")
    user = next(c for c in config["contexts"] if c["name"] == "shared")["context"]["user"]
    config["clusters"].append({"name": "alias", "cluster": {**shared["cluster"], "server": server}})
    config["contexts"].append({"name": "alias", "context": {"cluster": "alias", "user": user}})
    path = tmp_path / "kubeconfig-alias"
    path.write_text(json.dumps(config))
    return path


def _shared_server(kubeconfig: Path) -> str:
    config = json.loads(kubeconfig.read_text())
    return str(next(c for c in config["clusters"] if c["name"] == "shared")["cluster"]["server"])


def _spelled(url: str, how: str) -> str:
    if how == "same-url":  # the same URL written differently: found from the kubeconfig alone
        return url.upper().replace("HTTPS", "https") + "/"
    return url.replace("127.0.0.1", "localhost")  # another name: only the cluster's own identity tells


@pytest.mark.parametrize(("how", "shared_proof"), [("same-url", "server https://127.0.0.1:"),
                                                   ("other-name", "namespace kube-system has uid ")])
def test_an_alias_cluster_cannot_take_over_a_namespace_and_nothing_is_written(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str], how: str, shared_proof: str,
        control_plane: controlplane.TestEnv) -> None:
    prefix = "ida" if how == "same-url" else "idb"
    repo = private_repo(tmp_path, prefix)
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 0
    aliased = _with_alias(kubeconfig, tmp_path, _spelled(_shared_server(kubeconfig), how))
    (repo / "clusters/alias.yaml").write_text(ALIAS_CLUSTER)
    (repo / "environments/intruder.yaml").write_text(INTRUDER.replace("NAMESPACE", f"{prefix}-dev"))
    assert run_cli("validate", repo) == 0  # names differ: only the servers can tell

    cluster = clients(private_repo(tmp_path / "plain", prefix), kubeconfig)
    marks = audit_marks(control_plane)
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", aliased) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: Cluster 'alias' (clusters/alias.yaml:1) and Cluster 'shared' "
                            f"(clusters/shared.yaml:2) reach the same API server ({shared_proof}"), error
    assert "Remove one of the Cluster documents and point its targets at the other" in error
    assert reconciler_writes(marks) == {"shared": 0, "gpu": 0}, "nothing may be written"
    assert run_cli("plan", repo, "--kubeconfig", aliased) == 1
    assert cluster["shared"].list("RoleBinding", "reconciler/environment=intruder") == []
    namespace = cluster["shared"].get("Namespace", None, f"{prefix}-dev")
    assert namespace is not None and namespace["metadata"]["labels"]["reconciler/environment"] == "dev"


def test_a_controller_worker_refuses_a_second_name_for_its_cluster(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "idc")
    (repo / "clusters/alias.yaml").write_text(ALIAS_CLUSTER)
    aliased = _with_alias(kubeconfig, tmp_path, _spelled(_shared_server(kubeconfig), "other-name"))
    landscape = load_landscape(repo)
    worker = connect(landscape.clusters["alias"], aliased)
    try:
        with pytest.raises(AliasedClusters) as refused:
            verify_worker(landscape.clusters["alias"], worker, landscape.clusters, aliased)
        assert str(refused.value).startswith("Cluster 'alias' (clusters/alias.yaml:1) and Cluster 'shared' "
                                             "(clusters/shared.yaml:2) reach the same API server (namespace "
                                             "kube-system has uid ")
    finally:
        worker.close()
    gpu = connect(landscape.clusters["gpu"], aliased)
    try:
        verify_worker(landscape.clusters["gpu"], gpu, landscape.clusters, aliased)  # the gpu cluster has one name
    finally:
        gpu.close()


def test_diff_with_live_usage_refuses_an_alias_cluster_of_a_pull_request(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "idd")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "landscape")
    (repo / "clusters/alias.yaml").write_text(ALIAS_CLUSTER)
    (repo / "environments/intruder.yaml").write_text(
        INTRUDER.replace("NAMESPACE", "idd-dev").replace("spec:\n", "spec:\n  extends: [standard]\n", 1))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "a second name for the shared cluster")
    aliased = _with_alias(kubeconfig, tmp_path, _spelled(_shared_server(kubeconfig), "same-url"))
    capsys.readouterr()
    assert run_cli("diff", repo, "--base", "HEAD~1", "--kubeconfig", aliased) == 1
    assert capsys.readouterr().err.startswith("error: Cluster 'alias' (clusters/alias.yaml:1) and Cluster 'shared' "
                                              "(clusters/shared.yaml:2) reach the same API server (server "
                                              "https://127.0.0.1:")
