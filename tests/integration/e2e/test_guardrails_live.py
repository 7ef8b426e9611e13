"""The guardrails installed on each cluster are read at start and combined; a ClusterRole git may bind is checked as
the cluster holds it, before any binding is written. On a control plane of its own: these tests change the
guardrails and ClusterRoles, which the session's clusters share with every other test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.kube.client import ClusterClient
from testenv import controlplane

from ..support import clients, edit, private_repo, run_cli
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration
RBAC = "rbac.authorization.k8s.io"
GUARDRAILS_PATH = "/api/v1/namespaces/reconciler-system/configmaps/reconciler-guardrails"


@pytest.fixture
def admins(own_control_plane: controlplane.TestEnv, tmp_path: Path) -> Iterator[dict[str, ClusterClient]]:
    """Admin clients of this module's clusters; every guardrails ConfigMap is removed again after the test."""
    found = clients(private_repo(tmp_path / "probe", "probe"), own_control_plane.kubeconfig)
    yield found
    for client in found.values():
        client.delete("ConfigMap", "reconciler-system", "reconciler-guardrails")


def put(client: ClusterClient, path: str, body: dict[str, Any]) -> None:
    client.request("PATCH", path, f"apply {path}", query={"fieldManager": "test-admin", "force": "true"}, body=body,
                   content_type="application/apply-patch+yaml")


def install_guardrails(client: ClusterClient, **data: str) -> None:
    put(client, "/api/v1/namespaces/reconciler-system", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": "reconciler-system"}})
    put(client, GUARDRAILS_PATH, {"apiVersion": "v1", "kind": "ConfigMap", "data": data, "metadata": {
        "name": "reconciler-guardrails", "namespace": "reconciler-system"}})


def test_without_guardrails_on_the_clusters_the_built_in_defaults_apply_and_the_output_says_so(
        own_control_plane: controlplane.TestEnv, admins: dict[str, ClusterClient], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "gd")
    assert run_cli("plan", repo, "--kubeconfig", own_control_plane.kubeconfig) == 2
    err = capsys.readouterr().err
    for cluster in ("gpu", "shared"):
        assert (f"guardrails: cluster {cluster}: no guardrails ConfigMap reconciler-system/reconciler-guardrails; "
                "using built-in defaults") in err


def test_the_narrowest_installed_guardrails_refuse_the_revision_with_path_and_line(
        own_control_plane: controlplane.TestEnv, admins: dict[str, ClusterClient], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    install_guardrails(admins["gpu"], allowedClusterRoles="view\nedit\n")
    install_guardrails(admins["shared"], allowedClusterRoles="view, edit, admin")
    repo = private_repo(tmp_path, "gn")
    for command in ("plan", "apply"):
        assert run_cli(command, repo, "--kubeconfig", own_control_plane.kubeconfig) == 1
        err = capsys.readouterr().err
        assert "guardrails: cluster gpu: guardrails from ConfigMap reconciler-system/reconciler-guardrails" in err
        assert ("platform.yaml:8: spec.allowedClusterRoles[2]: ClusterRole 'admin' is not allowed by the "
                "installation's guardrails (the intersection of cluster gpu: ConfigMap "
                "reconciler-system/reconciler-guardrails; cluster shared: ConfigMap") in err
    assert admins["shared"].get("Namespace", None, "gn-dev") is None, "nothing was written, on no cluster"


# Other instances of a dangerous ClusterRole: each rule lets whoever holds the role widen their own access.
DANGEROUS = {
    "bind": ({"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["bind"]}, "the verb bind"),
    "escalate": ({"apiGroups": [RBAC], "resources": ["roles"], "verbs": ["escalate", "create"]}, "the verb escalate"),
    "impersonate users": ({"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]},
                          "the verb impersonate, which lets its holders act as other users"),
    "wildcard verbs": ({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}, "a wildcard in verbs"),
    "wildcard resources": ({"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]}, "a wildcard in resources"),
}


@pytest.mark.parametrize("case", DANGEROUS, ids=list(DANGEROUS))
def test_a_dangerous_clusterrole_refuses_every_target_that_binds_it(
        own_control_plane: controlplane.TestEnv, admins: dict[str, ClusterClient], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], case: str) -> None:
    rule, reason = DANGEROUS[case]
    put(admins["shared"], f"/apis/{RBAC}/v1/clusterroles/ml-runner", {
        "apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": "ml-runner"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, rule]})
    guardrails = tmp_path / "guardrails.yaml"
    guardrails.write_text("kind: ConfigMap\ndata:\n  allowedClusterRoles: view edit admin ml-runner\n"
                          "  serviceAccountNamespaces: polyaxon\n")
    repo = private_repo(tmp_path, "gr")
    edit(repo, "platform.yaml", "[view, edit, admin]", "[view, edit, admin, ml-runner]")
    edit(repo, "environments/dev.yaml", "{team: vision, role: edit}", "{team: vision, role: ml-runner}")
    assert run_cli("validate", repo, "--guardrails", guardrails) == 0
    assert run_cli("apply", repo, "--kubeconfig", own_control_plane.kubeconfig, "--guardrails", guardrails) == 1
    out = capsys.readouterr().out
    assert ("cluster shared: RoleBinding gr-dev/access-team-vision-ml-runner binds ClusterRole ml-runner, which "
            "holds the rule") in out
    assert f"({reason}" in out and "nothing in this target is written" in out
    assert admins["shared"].get("Namespace", None, "gr-dev") is None, "the refused target was not written"
    assert admins["shared"].get("Namespace", None, "gr-staging") is not None, "the other targets converged"


def test_run_holds_every_revision_to_the_guardrails_it_read_at_start(
        own_control_plane: controlplane.TestEnv, admins: dict[str, ClusterClient], tmp_path: Path,
        start_controller: StartController) -> None:
    install_guardrails(admins["gpu"], allowedClusterRoles="view\nedit\n", serviceAccountNamespaces="polyaxon")
    remote = GitRemote(private_repo(tmp_path, "gc"), prefix="gc")
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig",
                                  own_control_plane.kubeconfig)
    bad = controller.wait_for(lambda: controller.status()["lastBadRevision"], timeout=60,
                              what="the first revision refused against the guardrails of cluster gpu")
    assert bad["revision"] == git(remote.work, "rev-parse", "HEAD")
    assert any("platform.yaml:8: spec.allowedClusterRoles[2]: ClusterRole 'admin' is not allowed by the "
               "installation's guardrails (the intersection of cluster gpu: ConfigMap reconciler-system/"
               "reconciler-guardrails; built-in defaults" in error
               for error in bad["errors"]), bad["errors"]
    narrowed = remote.edit("platform.yaml", "[view, edit, admin]", "[view, edit]")
    remote.edit("profiles/standard.yaml", "role: admin", "role: edit")
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    assert narrowed != controller.status()["lastBadRevision"]["revision"]
    binding = admins["shared"].get("RoleBinding", "gc-dev", "access-team-platform-edit")
    assert binding is not None and binding["roleRef"]["name"] == "edit"
