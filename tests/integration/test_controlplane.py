"""The test control plane is real: admission, RBAC, the controller manager and the pinned release all act."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testenv import build, controlplane, polling, probes

ClientFactory = Callable[..., client.ApiClient]
RBAC = "rbac.authorization.k8s.io"


def pod(name: str, cpu: str = "100m") -> client.V1Pod:
    container = client.V1Container(
        name="main", image="registry.k8s.io/pause:3.10", resources=client.V1ResourceRequirements(requests={"cpu": cpu})
    )
    return client.V1Pod(metadata=client.V1ObjectMeta(name=name), spec=client.V1PodSpec(containers=[container]))


def created_or_forbidden(core: client.CoreV1Api, namespace: str, body: client.V1Pod) -> bool:
    try:
        core.create_namespaced_pod(namespace, body)
    except ApiException as error:
        if error.status == 403:
            return False
        raise
    return True


def test_api_servers_report_the_pinned_release(control_plane: controlplane.TestEnv, api_client: ClientFactory) -> None:
    for name in control_plane.clusters:
        assert client.VersionApi(api_client(name)).get_code().git_version == build.pinned_versions().kubernetes


def test_tokens_authenticate_users_with_their_groups(api_client: ClientFactory) -> None:
    review = client.AuthenticationV1Api(api_client("shared", "alice")).create_self_subject_review(
        client.V1SelfSubjectReview()
    )
    assert review.status is not None and review.status.user_info is not None
    assert review.status.user_info.username == "alice"
    assert "oidc:ml-research" in (review.status.user_info.groups or [])


def test_pod_over_the_namespace_quota_is_rejected(api_client: ClientFactory, namespace: Callable[[str], str]) -> None:
    ns = namespace("shared")
    core = client.CoreV1Api(api_client("shared"))
    quota = client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="compute"), spec=client.V1ResourceQuotaSpec(hard={"requests.cpu": "1"})
    )
    core.create_namespaced_resource_quota(ns, quota)

    def quota_has_status() -> bool:
        status = core.read_namespaced_resource_quota("compute", ns).status
        return status is not None and bool(status.hard)

    # Admission refuses every pod until the controller manager has computed the quota's status.
    polling.until(quota_has_status, 30, "the controller manager to compute the quota's status")

    core.create_namespaced_pod(ns, pod("fits", cpu="500m"))
    with pytest.raises(ApiException) as rejected:
        core.create_namespaced_pod(ns, pod("too-big", cpu="2"))

    assert rejected.value.status == 403
    assert "exceeded quota" in str(rejected.value.body)


def test_user_may_create_pods_only_once_a_role_binding_grants_it(
    api_client: ClientFactory, namespace: Callable[[str], str]
) -> None:
    ns = namespace("gpu")
    as_bob = client.CoreV1Api(api_client("gpu", "bob"))
    with pytest.raises(ApiException) as denied:
        as_bob.create_namespaced_pod(ns, pod("before"))
    assert denied.value.status == 403

    binding = client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="ml-vision-edit"),
        role_ref=client.V1RoleRef(api_group=RBAC, kind="ClusterRole", name="edit"),
        subjects=[client.RbacV1Subject(api_group=RBAC, kind="Group", name="oidc:ml-vision")],
    )
    client.RbacAuthorizationV1Api(api_client("gpu")).create_namespaced_role_binding(ns, binding)

    polling.until(lambda: created_or_forbidden(as_bob, ns, pod("after")), 15, "bob to be allowed by the binding")
    as_alice = client.CoreV1Api(api_client("gpu", "alice"))
    assert not created_or_forbidden(as_alice, ns, pod("other-team"))


def test_deleted_namespace_is_finalized(api_client: ClientFactory, namespace: Callable[[str], str]) -> None:
    ns = namespace("gpu")
    core = client.CoreV1Api(api_client("gpu"))
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="content")))

    core.delete_namespace(ns)

    def gone() -> bool:
        try:
            core.read_namespace(ns)
        except ApiException as error:
            return bool(error.status == 404)
        return False

    polling.until(gone, 60, f"namespace {ns} to be finalized by the controller manager")


def test_one_api_server_stops_and_comes_back_with_its_data(
    control_plane: controlplane.TestEnv, api_client: ClientFactory, namespace: Callable[[str], str]
) -> None:
    ns = namespace("gpu")
    gpu, shared = control_plane.cluster("gpu"), control_plane.cluster("shared")
    controlplane.stop_component(control_plane, "gpu")
    try:
        assert probes.get(f"{gpu.server}/readyz", ca_file=gpu.ca_file)[0] == 0
        assert client.VersionApi(api_client("shared")).get_code().git_version
        assert probes.is_ok(f"{shared.server}/readyz", ca_file=shared.ca_file, token=control_plane.token("admin"))
    finally:
        controlplane.start_component(control_plane, "gpu")

    status = client.CoreV1Api(api_client("gpu")).read_namespace(ns).status
    assert status is not None and status.phase == "Active"
