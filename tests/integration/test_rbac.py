"""RBAC, proven by the API server with the members' and the agent's own tokens: what git grants is allowed, everything
else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from . import authorizer
from .support import SAMPLE, admin_token, api_as_token, clients, pod, pods_admitted, private_repo
from .support import converged as _converged

pytestmark = pytest.mark.integration


def test_rbac_lets_a_team_edit_in_dev_and_keeps_it_out_of_prod(
    tmp_path: Path, kubeconfig: Path, control_plane
) -> None:  # type: ignore[no-untyped-def]
    repo = private_repo(tmp_path, "d")
    _converged(repo, kubeconfig)
    alice = control_plane.token("alice")  # team research: edit in dev, view in prod
    dev = k8s.CoreV1Api(api_as_token(kubeconfig, "shared", alice))
    admin = {name: api_as_token(kubeconfig, name, admin_token(kubeconfig)) for name in ("shared", "gpu")}
    pods_admitted(k8s.CoreV1Api(admin["shared"]), "d-dev")
    authorizer.bindings_in_effect(admin["shared"], "d-dev")
    authorizer.bindings_in_effect(admin["gpu"], "d-prod")
    dev.create_namespaced_pod("d-dev", pod("alice-job"))
    prod = k8s.CoreV1Api(api_as_token(kubeconfig, "gpu", alice))
    with pytest.raises(k8s.ApiException) as refused:
        prod.create_namespaced_pod("d-prod", pod("alice-job"))
    assert refused.value.status == 403
    names = [p.metadata.name for p in prod.list_namespaced_pod("d-prod").items]  # view is granted
    assert "alice-job" not in names


def test_the_agent_manages_pods_only_in_its_own_namespace(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "e")
    # The agent's rights are the installation's ClusterRole, bound in each environment's namespace.
    role = yaml.safe_load((SAMPLE.parent / "deploy" / "agent-role.yaml").read_text())
    clients(repo, kubeconfig)["shared"].request(
        "PATCH", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}", "install agent role",
        query={"fieldManager": "test-admin", "force": "true"}, body=role, content_type="application/apply-patch+yaml")
    _converged(repo, kubeconfig)
    admin_api = api_as_token(kubeconfig, "shared", admin_token(kubeconfig))
    admin = k8s.CoreV1Api(admin_api)
    authorizer.bindings_in_effect(admin_api, "e-dev")
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    token = admin.create_namespaced_service_account_token("ml-agent", "e-dev", request).status.token
    agent = k8s.CoreV1Api(api_as_token(kubeconfig, "shared", token))
    pods_admitted(admin, "e-dev")
    agent.create_namespaced_pod("e-dev", pod("run-1"))
    with pytest.raises(k8s.ApiException) as refused:
        agent.create_namespaced_pod("e-staging", pod("run-1"))
    assert refused.value.status == 403
