"""After the sample landscape converged as the reconciler's own ServiceAccount, every person has exactly the access
git declares, asked of the API server with their own tokens (SelfSubjectAccessReview): per user and environment,
what their role allows and nothing more; a user in no team and an anonymous request get nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kubernetes import client as k8s

from reconciler.config import load_landscape
from testenv import clients as testenv_clients
from testenv import controlplane

from .. import authorizer
from ..support import api_as_token, clients, private_repo, run_cli
from .deployed import install, wait_until_enforced

pytestmark = pytest.mark.integration
PREFIX = "matrix"
# What a user must be able to do, per ClusterRole; every other role's abilities must be refused.
ABILITIES = {  # (verb, group, resource) -> the weakest role that allows it
    ("list", "", "pods"): "view",
    ("get", "", "secrets"): "edit",
    ("create", "batch", "jobs"): "edit",
    ("create", "rbac.authorization.k8s.io", "rolebindings"): "admin",
}
RANK = {None: 0, "view": 1, "edit": 2, "admin": 3}
GROUPS = {"alice": "research", "bob": "vision", "carol": "platform"}  # testenv's users, by their OIDC group


@pytest.fixture(scope="module")
def converged(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory, control_plane: controlplane.TestEnv
              ) -> Path:
    """The sample repository applied by `reconciler apply` with the ServiceAccount's token alone, and in effect in
    the API servers' authorizers."""
    directory = tmp_path_factory.mktemp("matrix")
    repo = private_repo(directory, PREFIX)
    as_reconciler = install(clients(repo, kubeconfig), kubeconfig, directory / "reconciler.kubeconfig")
    for reconciler in clients(repo, as_reconciler).values():
        wait_until_enforced(reconciler)
    assert run_cli("apply", repo, "--kubeconfig", as_reconciler) == 0
    assert run_cli("plan", repo, "--kubeconfig", as_reconciler) == 0, "converged: nothing left to change"
    for target in load_landscape(repo).targets:
        with testenv_clients.api_client(control_plane, target.cluster.name) as admin:
            authorizer.bindings_in_effect(admin, target.namespace)
    return repo


def declared_roles(repo: Path) -> dict[tuple[str, str], str | None]:
    """(team, environment) -> the ClusterRole git grants, read from the repository rather than restated here."""
    landscape = load_landscape(repo)
    roles: dict[tuple[str, str], str | None] = {(t, e): None for t in GROUPS.values() for e in landscape.environments}
    for name, environment in landscape.environments.items():
        for access in environment.access:
            if access.subject == "team":
                roles[(access.name, name)] = access.role
    return roles


def can(api: k8s.ApiClient, namespace: str, verb: str, group: str, resource: str) -> bool:
    review = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(
        resource_attributes=k8s.V1ResourceAttributes(namespace=namespace, verb=verb, group=group, resource=resource)))
    return bool(k8s.AuthorizationV1Api(api).create_self_subject_access_review(review).status.allowed)


def test_team_members_have_exactly_the_declared_access(converged: Path, control_plane: controlplane.TestEnv,
                                                       kubeconfig: Path) -> None:
    landscape = load_landscape(converged)
    roles = declared_roles(converged)
    assert {roles[("research", "dev")], roles[("research", "prod")]} == {"edit", "view"}, "dev and prod differ"
    mismatches = []
    for user, team in GROUPS.items():
        for name, environment in sorted(landscape.environments.items()):
            for cluster, namespace in environment.targets:
                api = api_as_token(kubeconfig, cluster, control_plane.token(user))
                try:
                    for (verb, group, resource), weakest in ABILITIES.items():
                        expected = RANK[roles[(team, name)]] >= RANK[weakest]
                        if can(api, namespace, verb, group, resource) != expected:
                            mismatches.append(f"{user} ({team}, {roles[(team, name)]}) in {name}: {verb} "
                                              f"{resource} should be {'allowed' if expected else 'refused'}")
                finally:
                    api.close()  # type: ignore[no-untyped-call]
    assert not mismatches, "\n".join(mismatches)


def test_a_user_in_no_team_gets_nothing(converged: Path, kubeconfig: Path) -> None:
    landscape = load_landscape(converged)
    admin = clients(converged, kubeconfig)
    for environment in landscape.environments.values():
        for cluster, namespace in environment.targets:
            for (verb, group, resource) in ABILITIES:
                review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
                    "user": "dave", "groups": ["oidc:contractors", "system:authenticated"],
                    "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                           "resource": resource}}}
                answer = admin[cluster].request(
                    "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", "review dave", body=review)
                assert answer["status"].get("allowed") is not True, (environment.name, verb, resource)


def test_an_anonymous_request_is_refused(converged: Path, control_plane: controlplane.TestEnv) -> None:
    """The test API servers keep kube-apiserver's default --anonymous-auth=true, as many clusters do: a request
    without a token is authenticated as system:anonymous, and RBAC refuses it everything in every environment."""
    landscape = load_landscape(converged)
    for environment in landscape.environments.values():
        for cluster, namespace in environment.targets:
            configuration = k8s.Configuration()
            configuration.host = control_plane.cluster(cluster).server
            configuration.ssl_ca_cert = str(control_plane.cluster(cluster).ca_file)
            with k8s.ApiClient(configuration) as anonymous, pytest.raises(k8s.ApiException) as refused:
                k8s.CoreV1Api(anonymous).list_namespaced_pod(namespace)
            assert refused.value.status == 403
            assert (f'User "system:anonymous" cannot list resource "pods" in API group "" in the namespace '
                    f'"{namespace}"') in json.loads(refused.value.body)["message"]
