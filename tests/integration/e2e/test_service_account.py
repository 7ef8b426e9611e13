"""deploy/ on real API servers: the controller, authenticated as the reconciler ServiceAccount, converges both
clusters, holds its Lease and records Events; an installation of an older release loses its agent Role; the same
identity cannot grant itself more (tests/integration/e2e/test_confinement.py tries every way in detail)."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Forbidden
from reconciler.plan import inventory
from reconciler.render.agent import AGENT_BINDING, AGENT_CLUSTER_ROLE
from testenv import polling

from ..support import clients
from .conftest import StartController
from .deployed import install, wait_until_enforced
from .harness import GitRemote, git

pytestmark = pytest.mark.integration
RBAC = "rbac.authorization.k8s.io"


def test_the_deployment_manifests_are_least_privilege_and_sufficient(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path, tmp_path: Path
) -> None:
    admin = clients(remote.work, kubeconfig)
    as_reconciler = install(admin, kubeconfig, tmp_path / "reconciler.kubeconfig")
    for client in clients(remote.work, as_reconciler).values():
        wait_until_enforced(client)

    lease = f"sa-{uuid.uuid4().hex[:8]}"
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", as_reconciler,
                                  "--leader-elect", "--lease-cluster", "shared", "--lease-name", lease)
    revision = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(revision)
    status = controller.status()
    assert all(c["lastError"] is None for c in status["clusters"].values()), status["clusters"]
    assert status["leader"]["isLeader"]
    started = controller.log_path.read_text()  # the guardrails of both clusters were read at start
    for cluster in ("gpu", "shared"):
        assert f"cluster {cluster}: guardrails from ConfigMap reconciler-system/reconciler-guardrails" in started
    held = admin["shared"].request("GET", f"/apis/coordination.k8s.io/v1/namespaces/reconciler-system/leases/{lease}",
                                   "get lease")
    assert held["spec"]["holderIdentity"] == status["leader"]["identity"]
    prod = f"{remote.prefix}-prod"
    # Events follow the status update: wait for the one of this revision.
    polling.until(lambda: any(e["reason"] == "Converged" for e in admin["gpu"].request(
        "GET", f"/api/v1/namespaces/{prod}/events", "list events")["items"]), timeout=30, what="a Converged event")
    binding = admin["gpu"].get("RoleBinding", prod, AGENT_BINDING)
    assert binding is not None and binding["roleRef"]["name"] == AGENT_CLUSTER_ROLE

    # Drift on the agent's binding is undone, and the Role and RoleBinding of an older release are pruned.
    admin["gpu"].merge_patch("RoleBinding", prod, AGENT_BINDING, {"subjects": []})
    _install_older_agent_rbac(admin["gpu"], prod, binding["metadata"]["labels"])
    changed = remote.edit("environments/prod.yaml", "gpu: 8", "gpu: 4")
    controller.wait_converged(changed)
    restored = admin["gpu"].get("RoleBinding", prod, AGENT_BINDING)
    assert restored is not None and restored["subjects"] == binding["subjects"], "the agent binding was restored"
    assert admin["gpu"].get("Role", prod, "ml-agent") is None, "the older release's agent Role was pruned"
    assert admin["gpu"].get("RoleBinding", prod, "ml-agent") is None
    assert controller.status()["clusters"]["gpu"]["lastError"] is None
    assert controller.terminate() == 0

    reconciler = clients(remote.work, as_reconciler)["shared"]
    namespace = f"{remote.prefix}-dev"
    refused: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/apis/{RBAC}/v1/clusterrolebindings", {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "reconciler-is-admin"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "reconciler", "namespace": "reconciler-system"}]}),
        ("POST", f"/apis/{RBAC}/v1/namespaces/{namespace}/rolebindings", {
            "apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "sneaky"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "reconciler", "namespace": "reconciler-system"}]}),
        ("POST", f"/apis/{RBAC}/v1/namespaces/{namespace}/roles", {
            "apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "other"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}),
        ("GET", f"/api/v1/namespaces/{namespace}/secrets", None),
        ("GET", f"/api/v1/namespaces/{namespace}/pods", None),
        ("GET", "/api/v1/namespaces/kube-system/secrets", None),
    ]
    for method, path, body in refused:
        with pytest.raises(Forbidden):
            reconciler.request(method, path, f"{method} {path}", body=body)


def _install_older_agent_rbac(admin: ClusterClient, namespace: str, labels: dict[str, str]) -> None:
    """What a release before the agent ClusterRole left in a namespace: a Role and a RoleBinding ml-agent, both
    recorded in the target's inventory."""
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
    metadata = {"name": "ml-agent", "namespace": namespace, "labels": labels}
    admin.apply({"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": metadata, "rules": rules})
    admin.apply({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": metadata,
                 "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "ml-agent"},
                 "subjects": [{"kind": "ServiceAccount", "name": "ml-agent", "namespace": namespace}]})
    stored = admin.get("ConfigMap", inventory.SYSTEM_NAMESPACE, inventory.configmap_name(namespace))
    recorded = inventory.from_configmap(stored or {})
    assert recorded is not None, f"no inventory for {namespace}"
    older = tuple(inventory.ObjectRef(kind, namespace, "ml-agent") for kind in ("Role", "RoleBinding"))
    admin.apply(inventory.to_configmap(dataclasses.replace(recorded, objects=recorded.objects + older)))
