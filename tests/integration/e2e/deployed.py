"""deploy/ installed on the test clusters as an administrator would, and the reconciler's own ServiceAccount token:
the identity a stolen token gives, for tests that try what it may and may not do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Forbidden
from testenv import polling

from .harness import ROOT

DEPLOY = ROOT / "deploy"
SERVICE_ACCOUNT = "system:serviceaccount:reconciler-system:reconciler"
ADMISSION = "apis/admissionregistration.k8s.io/v1"
PATHS = {
    "Namespace": "/api/v1/namespaces/{name}",
    "ServiceAccount": "/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
    "Service": "/api/v1/namespaces/{namespace}/services/{name}",
    "ConfigMap": "/api/v1/namespaces/{namespace}/configmaps/{name}",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{name}",
    "Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/{name}",
    "Deployment": "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
    "ValidatingAdmissionPolicy": f"/{ADMISSION}/validatingadmissionpolicies/{{name}}",
    "ValidatingAdmissionPolicyBinding": f"/{ADMISSION}/validatingadmissionpolicybindings/{{name}}",
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


def install(admin: dict[str, ClusterClient], kubeconfig: Path, out: Path) -> Path:
    """deploy/ applied on every cluster; returns a kubeconfig with the same contexts, authenticated as the
    reconciler's ServiceAccount."""
    config = json.loads(kubeconfig.read_text())
    config["users"], config["contexts"] = [], []
    for name, client in sorted(admin.items()):
        apply_deploy(client)
        config["users"].append({"name": f"reconciler@{name}", "user": {"token": service_account_token(client)}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": f"reconciler@{name}"}})
    out.write_text(json.dumps(config))
    return out


def wait_until_enforced(reconciler: ClusterClient, timeout: float = 30.0) -> None:
    """The API server loads new admission policies asynchronously: wait until each denies the reconciler a write
    that RBAC alone allows (sent as dry runs, so nothing is written meanwhile)."""
    probes = {
        "reconciler-confinement": ("/api/v1/namespaces/kube-system/configmaps",
                                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe"}}),
        "reconciler-guardrails": ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": "admission-probe", "labels": {
                "app.kubernetes.io/managed-by": "reconciler", "reconciler/environment": "probe",
                "pod-security.kubernetes.io/enforce": "privileged"}}}),
    }
    for policy, (path, body) in probes.items():

        def denied(path: str = path, body: dict[str, Any] = body, policy: str = policy) -> bool:
            try:
                reconciler.request("POST", path, f"probe {policy}", query={"dryRun": "All"}, body=body)
            except Forbidden as error:
                return f"ValidatingAdmissionPolicy '{policy}'" in error.message
            return False

        polling.until(denied, timeout=timeout, what=f"the admission policy {policy} to be enforced")
