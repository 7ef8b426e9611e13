"""Pod Security is a setting of the environment, enforced by the API server on the namespace it renders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from testenv import polling

from .support import clients, edit, pods_admitted, private_repo, run_cli

pytestmark = pytest.mark.integration


def test_the_namespace_enforces_its_pod_security_level(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "ps")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--env", "dev") == 0
    core = k8s.CoreV1Api(clients(repo, kubeconfig)["shared"].api)
    pods_admitted(core, "ps-dev")
    privileged = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {"containers": [
        {"name": "main", "image": "busybox", "securityContext": {"privileged": True}}]}}
    with pytest.raises(ApiException) as denied:
        core.create_namespaced_pod("ps-dev", privileged)
    assert denied.value.status == 403
    assert json.loads(denied.value.body)["message"] == (
        'pods "root" is forbidden: violates PodSecurity "baseline:latest": privileged (container "main" must not set '
        "securityContext.privileged=true)")


def test_the_rendered_agent_is_admitted_under_restricted(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "pr")
    edit(repo, "environments/dev.yaml", "  extends: [standard]\n", "  extends: [standard]\n  podSecurity: restricted\n")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--env", "dev") == 0
    core = k8s.CoreV1Api(clients(repo, kubeconfig)["shared"].api)
    namespace = core.read_namespace("pr-dev")
    assert namespace.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # The ReplicaSet controller creates the agent's pod only if Pod Security admits it.
    pods = polling.until(lambda: core.list_namespaced_pod("pr-dev", label_selector="app.kubernetes.io/name=ml-agent")
                         .items, timeout=60, what="the agent's pod in pr-dev under Pod Security restricted")
    assert pods[0].spec.service_account_name == "ml-agent"
