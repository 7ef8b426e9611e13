"""deploy/ on real API servers: the controller, authenticated as the reconciler ServiceAccount, converges both
clusters, holds its Lease and records Events; the same identity cannot grant itself more."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Forbidden

from ..support import clients
from .conftest import StartController
from .harness import ROOT, GitRemote, git

pytestmark = pytest.mark.integration

DEPLOY = ROOT / "deploy"
PATHS = {
    "Namespace": "/api/v1/namespaces/{name}",
    "ServiceAccount": "/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
    "Service": "/api/v1/namespaces/{namespace}/services/{name}",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
    "Deployment": "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
}


def deploy_documents() -> list[dict[str, Any]]:
    """Every object of deploy/, in the order of its kustomization (the namespace first)."""
    documents = []
    for name in yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"]:
        documents.extend(d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d)
    assert {d["kind"] for d in documents} <= set(PATHS)
    return documents


def apply_deploy(admin: ClusterClient) -> None:
    """Server-side apply of every manifest in deploy/, as an administrator would."""
    for document in deploy_documents():
        metadata = document["metadata"]
        path = PATHS[document["kind"]].format(name=metadata["name"], namespace=metadata.get("namespace"))
        admin.request("PATCH", path, f"apply {document['kind']} {metadata['name']}",
                      query={"fieldManager": "test-admin", "force": "true"}, body=document,
                      content_type="application/apply-patch+yaml")


def service_account_token(admin: ClusterClient) -> str:
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}}
    answer = admin.request("POST", "/api/v1/namespaces/reconciler-system/serviceaccounts/reconciler/token",
                           "request a token", body=request)
    return str(answer["status"]["token"])


def test_the_deployment_manifests_are_least_privilege_and_sufficient(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    admin = clients(remote.work, kubeconfig)
    config = json.loads(kubeconfig.read_text())
    config["users"], config["contexts"] = [], []
    for name, client in sorted(admin.items()):
        apply_deploy(client)
        config["users"].append({"name": f"reconciler@{name}", "user": {"token": service_account_token(client)}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": f"reconciler@{name}"}})
    as_reconciler = tmp_path / "reconciler.kubeconfig"
    as_reconciler.write_text(json.dumps(config))

    lease = f"sa-{uuid.uuid4().hex[:8]}"
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", as_reconciler,
                                  "--leader-elect", "--lease-cluster", "shared", "--lease-name", lease)
    revision = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(revision)
    status = controller.status()
    assert all(c["lastError"] is None for c in status["clusters"].values()), status["clusters"]
    assert status["leader"]["isLeader"]
    held = admin["shared"].request("GET", f"/apis/coordination.k8s.io/v1/namespaces/reconciler-system/leases/{lease}",
                                   "get lease")
    assert held["spec"]["holderIdentity"] == status["leader"]["identity"]
    events = admin["gpu"].request("GET", f"/api/v1/namespaces/{remote.prefix}-prod/events", "list events")
    assert any(e["reason"] == "Converged" for e in events["items"])

    # Drift on an agent Role is undone too: the scoped escalate covers updates, not just creation.
    admin["gpu"].merge_patch("Role", f"{remote.prefix}-prod", "ml-agent", {"rules": []})
    changed = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 4")
    controller.wait_converged(changed)
    role = admin["gpu"].get("Role", f"{remote.prefix}-prod", "ml-agent")
    assert role is not None and role["rules"], "the agent Role was restored"
    assert controller.terminate() == 0

    reconciler = clients(remote.work, as_reconciler)["shared"]
    namespace = f"{remote.prefix}-dev"
    refused: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "reconciler-is-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "reconciler", "namespace": "reconciler-system"}]}),
        ("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "sneaky"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "reconciler", "namespace": "reconciler-system"}]}),
        ("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "other"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}),
        ("GET", f"/api/v1/namespaces/{namespace}/secrets", None),
        ("GET", f"/api/v1/namespaces/{namespace}/pods", None),
        ("GET", "/api/v1/namespaces/kube-system/secrets", None),
    ]
    for method, path, body in refused:
        with pytest.raises(Forbidden):
            reconciler.request(method, path, f"{method} {path}", body=body)
