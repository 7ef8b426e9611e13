"""A namespace that exists and is not ours is left alone whole: no binding, quota, policy, agent or inventory
entry is written into it, until the environment says ``adopt: true``. Other targets still converge."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.kube.client import ClusterClient
from reconciler.plan import inventory as inv

from .support import clients, edit, private_repo, run_cli

pytestmark = pytest.mark.integration
KINDS = ("ServiceAccount", "Role", "RoleBinding", "LimitRange", "ResourceQuota", "NetworkPolicy", "ConfigMap",
         "Deployment")


def _everything_in(client: ClusterClient, namespace: str) -> list[str]:
    """Every object of the kinds the reconciler writes, except what Kubernetes itself puts in a namespace."""
    found = []
    for kind in KINDS:
        for obj in client.list(kind, namespace=namespace):
            name = obj["metadata"]["name"]
            if (kind, name) not in (("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")):
                found.append(f"{kind}/{name}")
    return found


def test_a_foreign_namespace_is_refused_and_nothing_is_written_into_it(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "fn")
    shared = clients(repo, kubeconfig)["shared"]
    theirs = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fn-dev", "labels": {"owner": "data"}}}
    shared.request("POST", "/api/v1/namespaces", "create namespace", body=theirs)
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 1
    shown = capsys.readouterr().out
    assert ("refused: namespace fn-dev on cluster shared exists and is not managed by the reconciler (managed-by: "
            "nobody); it is left alone. Delete or rename it, or set `adopt: true` on the environment to take it "
            "over. Nothing of environment dev is written into it") in shown
    assert _everything_in(shared, "fn-dev") == []
    namespace = shared.get("Namespace", None, "fn-dev")
    assert namespace is not None and namespace["metadata"]["labels"] == {
        "owner": "data", "kubernetes.io/metadata.name": "fn-dev"}
    assert shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("fn-dev")) is None
    assert shared.get("ResourceQuota", "fn-staging", "environment-quota") is not None  # the other target converged

    edit(repo, "environments/dev.yaml", "  extends: [standard]\n", "  extends: [standard]\n  adopt: true\n")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 0
    assert "RoleBinding/access-team-vision-edit" in _everything_in(shared, "fn-dev")
    adopted = shared.get("Namespace", None, "fn-dev")
    assert adopted is not None
    assert adopted["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
