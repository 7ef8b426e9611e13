"""A hub converges clusters independently, yet a commit that one API server refuses changes no cluster: the
controller dry-runs the whole revision everywhere before any worker writes.

What the server refuses here is something no repository check can know: the gpu cluster's own admission policy
(a ValidatingAdmissionPolicy, bound to this test's prod namespace only).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import KubeError

from ..conftest import ClientFactory
from ..support import clients
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration
MESSAGE = "this cluster allows at most 100 pods per namespace"


def _pods_cap(name: str, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                         "operations": ["CREATE", "UPDATE"],
                                                         "resources": ["resourcequotas"]}]},
                 "validations": [{"expression": "!('pods' in object.spec.hard) || "
                                                "int(object.spec.hard['pods']) <= 100", "message": MESSAGE}]},
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"],
                 "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}},
    }
    return policy, binding


def _wait_active(gpu: ClusterClient, namespace: str) -> None:
    """A new policy takes a moment to reach admission: until then a dry run of the refused value passes."""
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None
    probe = {"apiVersion": "v1", "kind": "ResourceQuota",
             "metadata": {"name": "environment-quota", "namespace": namespace},
             "spec": {"hard": {**quota["spec"]["hard"], "pods": "200"}}}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            gpu.apply(probe, dry_run=True)
        except KubeError as error:  # the refusal is what we wait for
            if MESSAGE in str(error):
                return
        time.sleep(0.2)
    raise AssertionError("the admission policy did not become active in 30s")


def test_a_commit_one_api_server_refuses_is_written_nowhere(remote: GitRemote, start_controller: StartController,
                                                            kubeconfig: Path, api_client: ClientFactory) -> None:
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    first = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(first)
    cluster = clients(remote.work, kubeconfig)
    namespace = f"{remote.prefix}-prod"
    policy, binding = _pods_cap(f"{remote.prefix}-pods-cap", namespace)
    admission = k8s.AdmissionregistrationV1Api(api_client("gpu"))
    admission.create_validating_admission_policy(policy)
    admission.create_validating_admission_policy_binding(binding)
    try:
        _wait_active(cluster["gpu"], namespace)
        envs = remote.work / "environments"
        (envs / "dev.yaml").write_text((envs / "dev.yaml").read_text() + "  quota: {pods: 42}\n")
        (envs / "prod.yaml").write_text((envs / "prod.yaml").read_text().replace("    gpu: 8\n",
                                                                                  "    gpu: 8\n    pods: 200\n"))
        bad = remote.commit("dev quota, and a prod quota the gpu cluster's admission policy refuses")
        status = controller.wait_for(lambda: (s := controller.status())["lastBadRevision"] and s, 30, "the refusal")
        assert status["lastBadRevision"]["revision"] == bad
        errors = status["lastBadRevision"]["errors"]
        assert any(f"environment prod: ResourceQuota {namespace}/environment-quota: cluster gpu's API server refused "
                   "it in a dry run" in e and MESSAGE in e for e in errors), errors
        quota = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-dev", "environment-quota")
        assert quota is not None and quota["spec"]["hard"]["pods"] == "100"
        assert controller.cluster_revision("shared") == first and controller.cluster_revision("gpu") == first
        assert controller.terminate() == 0
    finally:
        for delete, name in ((admission.delete_validating_admission_policy_binding, binding["metadata"]["name"]),
                             (admission.delete_validating_admission_policy, policy["metadata"]["name"])):
            try:
                delete(name)
            except ApiException as error:
                if error.status != 404:
                    raise
