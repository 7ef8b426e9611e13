"""The test control plane admits as a real v1.36 cluster does: ValidatingAdmissionPolicy (GA, with params and
matchConditions) and Pod Security are enforced, so the reconciler's policies in deploy/ are tested for real."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testenv import clients, controlplane, polling

from .conftest import ClientFactory


def test_a_validating_admission_policy_with_params_and_match_conditions_is_enforced(
        own_control_plane: controlplane.TestEnv) -> None:
    """On a control plane of its own: with this policy (ConfigMap params) made and deleted on the session's
    clusters, the API server found no params for deploy/'s guardrails policy installed after it, and refused every
    managed namespace (this file run before e2e/test_access_matrix.py; the API server's param informers have known
    bugs of this kind, kubernetes/kubernetes#133827)."""
    admin = clients.api_client(own_control_plane, "shared")
    alice = client.CoreV1Api(clients.api_client(own_control_plane, "shared", "alice"))
    core = client.CoreV1Api(admin)
    name = f"deny-{uuid.uuid4().hex[:6]}"
    where = "admission-params"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=where)))
    core.create_namespaced_config_map(where, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="params"),
                                                                 data={"forbidden": "planted"}))
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role_binding(where, client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="alice-edit"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="edit"),
        subjects=[client.RbacV1Subject(kind="User", name="alice", api_group="rbac.authorization.k8s.io")]))
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": name}, "spec": {
                  "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                  "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                          "operations": ["CREATE"], "resources": ["configmaps"]}]},
                  "matchConditions": [{"name": "alice", "expression": "request.userInfo.username == 'alice'"}],
                  "validations": [{"expression": "object.metadata.name != params.data.forbidden",
                                   "messageExpression": "'no ' + object.metadata.name + ' here'"}]}}
    binding = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
               "metadata": {"name": name}, "spec": {
                   "policyName": name, "validationActions": ["Deny"],
                   "paramRef": {"name": "params", "namespace": where, "parameterNotFoundAction": "Deny"},
                   "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": where}}}}}
    admission = client.AdmissionregistrationV1Api(admin)
    admission.create_validating_admission_policy(policy)
    admission.create_validating_admission_policy_binding(binding)
    try:
        planted = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="planted"))

        def refused() -> str | None:
            try:
                alice.create_namespaced_config_map(where, planted, dry_run="All")
            except ApiException as error:
                message = str(json.loads(error.body)["message"])
                # Until the authorizer has alice's new binding, RBAC refuses her first: not the refusal awaited.
                return message if "ValidatingAdmissionPolicy" in message else None
            return None

        message = polling.until(refused, timeout=30, what="the policy to be enforced")
        assert message == (f'configmaps "planted" is forbidden: ValidatingAdmissionPolicy \'{name}\' with binding '
                           f"'{name}' denied request: no planted here")
        core.create_namespaced_config_map(where, planted, dry_run="All")  # matchConditions: not the admin
        alice.create_namespaced_config_map(where, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="fine")),
                                           dry_run="All")
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)


def test_pod_security_enforce_labels_are_enforced(api_client: ClientFactory, namespace: Callable[[str], str]) -> None:
    core = client.CoreV1Api(api_client("shared"))
    where = namespace("shared")
    core.patch_namespace(where, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    privileged = client.V1Pod(metadata=client.V1ObjectMeta(name="privileged"), spec=client.V1PodSpec(containers=[
        client.V1Container(name="c", image="busybox", security_context=client.V1SecurityContext(privileged=True))]))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod(where, privileged, dry_run="All")
    assert refused.value.status == 403
    assert 'violates PodSecurity "restricted:latest": privileged' in json.loads(refused.value.body)["message"]
