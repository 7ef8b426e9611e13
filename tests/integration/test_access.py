"""`reconciler access --kubeconfig`: the access git declares, proven by the API servers' own authorizers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from . import authorizer
from .conftest import ClientFactory
from .support import private_repo, run_cli

pytestmark = pytest.mark.integration

# The testenv users whose tokens carry the groups the sample repository's teams bind.
MEMBERS = {"oidc:ml-research": "alice", "oidc:ml-vision": "bob", "oidc:platform": "carol"}
VERBS = {"get pods": ("get", "", "pods"), "create pods": ("create", "", "pods"), "read secrets": ("get", "", "secrets"),
         "update resourcequotas": ("update", "", "resourcequotas"),
         "create rolebindings": ("create", "rbac.authorization.k8s.io", "rolebindings")}


def _converged(tmp_path: Path, kubeconfig: Path, api_client: ClientFactory) -> tuple[Path, str]:
    """The sample landscape applied, once the API servers' authorizers hold every binding it wrote."""
    prefix = "acc" + uuid.uuid4().hex[:6]
    repo = private_repo(tmp_path, prefix)
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    for cluster, environment in (("shared", "dev"), ("shared", "staging"), ("gpu", "prod")):
        authorizer.bindings_in_effect(api_client(cluster), f"{prefix}-{environment}")
    return repo, prefix


def _access(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    capsys.readouterr()
    code = run_cli("access", *args)
    return code, capsys.readouterr().out


def _checks(report: dict[str, Any], subject: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, check) -> the check of ``subject`` (its name) from `access -o json`."""
    return {(c["namespace"], c["check"]): c for c in report["live"]["checks"] if c["subject"]["name"] == subject}


def _can_i(api: k8s.ApiClient, namespace: str, check: str) -> bool:
    """`kubectl auth can-i` with the member's own token: a SelfSubjectAccessReview."""
    verb, group, resource = VERBS[check]
    review = k8s.V1SelfSubjectAccessReview(spec=k8s.V1SelfSubjectAccessReviewSpec(
        resource_attributes=k8s.V1ResourceAttributes(namespace=namespace, verb=verb, group=group,
                                                     resource=resource)))
    answer = k8s.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(answer.status.allowed)


def test_the_matrix_from_git_matches_what_each_members_token_may_do(
    tmp_path: Path, kubeconfig: Path, api_client: ClientFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, prefix = _converged(tmp_path, kubeconfig, api_client)
    code, out = _access(capsys, repo, "--kubeconfig", kubeconfig, "-o", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["matrix"]["team research"] == {"dev": ["edit"], "staging": ["view"], "prod": ["view"]}
    assert report["live"]["agrees"] and report["live"]["disagreements"] == []
    where = {"dev": ("shared", f"{prefix}-dev"), "staging": ("shared", f"{prefix}-staging"),
             "prod": ("gpu", f"{prefix}-prod")}
    for group, member in MEMBERS.items():
        checks = _checks(report, group)
        assert len(checks) == 3 * len(VERBS)
        for cluster, namespace in where.values():
            api = api_client(cluster, member)
            for check in VERBS:
                assert checks[(namespace, check)]["allowed"] == _can_i(api, namespace, check), (member, namespace,
                                                                                                check)
    research = _checks(report, "oidc:ml-research")
    assert research[(f"{prefix}-dev", "create pods")]["allowed"]  # edit in dev
    assert not research[(f"{prefix}-prod", "create pods")]["allowed"]  # view in prod
    assert not research[(f"{prefix}-prod", "read secrets")]["allowed"]
    assert _checks(report, "oidc:platform")[(f"{prefix}-prod", "create rolebindings")]["allowed"]  # admin
    for control in ("access-check@reconciler.invalid", "system:anonymous"):
        assert not any(c["allowed"] for c in _checks(report, control).values()), control


def test_access_granted_by_hand_and_declared_access_that_is_lost_are_reported(
    tmp_path: Path, kubeconfig: Path, api_client: ClientFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, prefix = _converged(tmp_path, kubeconfig, api_client)
    gpu, shared = k8s.RbacAuthorizationV1Api(api_client("gpu")), k8s.RbacAuthorizationV1Api(api_client("shared"))
    gpu.create_namespaced_role_binding(f"{prefix}-prod", _binding("granted-by-hand", "edit", "Group",
                                                                   "oidc:ml-vision"))
    cluster_wide = _binding(f"{prefix}-granted-by-hand", "admin", "User", "alice@example.com", cluster_wide=True)
    shared.create_cluster_role_binding(cluster_wide)
    try:
        shared.delete_namespaced_role_binding("access-team-vision-edit", f"{prefix}-staging")
        _out_of_band_in_effect(api_client, prefix, True)
        code, out = _access(capsys, repo, "--kubeconfig", kubeconfig)
        assert code == 3, out
        assert "5 disagreement(s) between git and the clusters (exit 3)" in out
        assert (f"cluster gpu namespace {prefix}-prod (prod): group oidc:ml-vision may create pods, read secrets, "
                "which git does not explain (git grants it only view); granted out of band: RBAC: allowed by "
                f'RoleBinding "granted-by-hand/{prefix}-prod" of ClusterRole "edit" to Group "oidc:ml-vision"') in out
        assert (f"cluster shared namespace {prefix}-dev (dev): user alice@example.com may create rolebindings, "
                "which git does not explain (git grants it only edit); granted out of band: RBAC: allowed by "
                f'ClusterRoleBinding "{prefix}-granted-by-hand" of ClusterRole "admin" to User "alice@example.com"'
                ) in out
        assert (f"cluster shared namespace {prefix}-staging (staging): group oidc:ml-vision may not get pods, "
                "create pods, read secrets, though git binds it to edit; the RoleBinding is missing or changed") in out
        # The same as each member's token sees it: bob may now create pods in prod, and no longer list staging's.
        assert _can_i(api_client("gpu", "bob"), f"{prefix}-prod", "create pods")
        assert not _can_i(api_client("shared", "bob"), f"{prefix}-staging", "get pods")

        code, out = _access(capsys, repo, "--kubeconfig", kubeconfig, "--env", "prod", "-o", "json")
        assert code == 3
        disagreements = json.loads(out)["live"]["disagreements"]
        assert {line.split(":")[0] for line in disagreements} == {f"cluster gpu namespace {prefix}-prod (prod)"}
        assert len(disagreements) == 1 and "group oidc:ml-vision may create pods, read secrets" in disagreements[0]
        # The ClusterRoleBinding was made on the shared cluster only: prod, on the gpu cluster, does not have it.
        assert not any("alice@example.com" in line for line in disagreements)

        assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 0  # restores staging
        gpu.delete_namespaced_role_binding("granted-by-hand", f"{prefix}-prod")
    finally:
        shared.delete_cluster_role_binding(cluster_wide.metadata.name)
    _out_of_band_in_effect(api_client, prefix, False)
    code, out = _access(capsys, repo, "--kubeconfig", kubeconfig, "-o", "markdown")
    assert code == 0, out
    assert "**git and the clusters agree**" in out


def _out_of_band_in_effect(api_client: ClientFactory, prefix: str, made: bool) -> None:
    """Wait until the authorizers hold the changes made by hand (``made``), or their undoing: vision's edit in prod,
    alice's cluster-wide admin, vision's edit in staging taken away."""
    authorizer.says(api_client("gpu"), made, f"{prefix}-prod", "create", "pods", groups=("oidc:ml-vision",))
    authorizer.says(api_client("shared"), made, f"{prefix}-dev", "create", "rolebindings", "rbac.authorization.k8s.io",
                    user="alice@example.com")
    authorizer.says(api_client("shared"), not made, f"{prefix}-staging", "get", "pods", groups=("oidc:ml-vision",))


def _binding(name: str, role: str, kind: str, subject: str, *, cluster_wide: bool = False) -> Any:
    """A binding made by hand, outside git: a RoleBinding, or a ClusterRoleBinding with ``cluster_wide``."""
    metadata = k8s.V1ObjectMeta(name=name)
    ref = k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role)
    who = [k8s.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind=kind, name=subject)]
    made = k8s.V1ClusterRoleBinding if cluster_wide else k8s.V1RoleBinding
    return made(metadata=metadata, role_ref=ref, subjects=who)
