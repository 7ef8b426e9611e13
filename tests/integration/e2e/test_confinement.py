"""A stolen reconciler token, tried as an attacker would on a real API server with deploy/ applied: every way to
widen its access is refused by the API server itself (RBAC or the admission policy), and each test quotes the
denial. The same token can still do what the reconciler needs, so the policy is not simply "deny everything"."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from reconciler.kube.client import ClusterClient
from reconciler.kube.errors import Forbidden, KubeError
from testenv import build, controlplane, polling
from testenv import clients as testenv_clients
from testenv import kueue as testenv_kueue

from ..support import api_as_token, clients, private_repo
from .deployed import SERVICE_ACCOUNT, apply_deploy, install, wait_until_enforced

pytestmark = pytest.mark.integration
RBAC = "rbac.authorization.k8s.io"
POLICY = "ValidatingAdmissionPolicy 'reconciler-confinement' with binding 'reconciler-confinement' denied request"
GUARDRAILS = "ValidatingAdmissionPolicy 'reconciler-guardrails' with binding 'reconciler-guardrails' denied request"
OURS = {"app.kubernetes.io/managed-by": "reconciler", "reconciler/environment": "dev"}
# Our labels with a Pod Security level the guardrails allow: an attempt that carries them is refused by the
# confinement policy alone, so the denial quoted is the rule under test (with both policies denying, the API server
# reports whichever it evaluated first).
LEVELLED = {**OURS, "pod-security.kubernetes.io/enforce": "restricted"}
SUFFIX = uuid.uuid4().hex[:6]
MANAGED, FOREIGN = f"conf-{SUFFIX}-mine", f"conf-{SUFFIX}-foreign"
ME = {"kind": "ServiceAccount", "name": "reconciler", "namespace": "reconciler-system"}
TOKENS: dict[str, str] = {}  # cluster -> the reconciler's token, set by the fixture


Pair = tuple[ClusterClient, ClusterClient]


@dataclass(frozen=True)
class Attempt:
    method: str
    path: str
    body: dict[str, Any] | None = None
    content_type: str = "application/json"
    dry_run: bool = False  # for what would harm the shared test cluster if it were, wrongly, allowed


@pytest.fixture(scope="module")
def cluster(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """(admin, reconciler) on cluster "shared", with deploy/ applied, a namespace the reconciler made and owns, and
    one an administrator made that the reconciler does not own."""
    directory = tmp_path_factory.mktemp("confinement")
    repo = private_repo(directory, f"conf{SUFFIX}")
    admins = clients(repo, kubeconfig)
    admin = admins["shared"]
    as_reconciler = install(admins, kubeconfig, directory / "reconciler.kubeconfig")
    reconciler = clients(repo, as_reconciler)["shared"]
    wait_until_enforced(reconciler)
    TOKENS["shared"] = json.loads(as_reconciler.read_text())["users"][-1]["user"]["token"]
    admin.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": FOREIGN}})
    reconciler.apply(namespace(MANAGED, {**OURS, "pod-security.kubernetes.io/enforce": "baseline"}))
    admin.apply({"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "harmless", "namespace": MANAGED},
                 "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    yield admin, reconciler
    for name in (MANAGED, FOREIGN):  # not waited for: tests count writes per credential (support.py)
        admin.delete("Namespace", None, name)


class AnyOf:
    """Denials of which the API server quotes one: an attempt two of the policies refuse."""

    def __init__(self, *denials: str) -> None:
        self.denials = denials


def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def binding(name: str, role: str, *subjects: dict[str, str], kind: str = "ClusterRole") -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": role}, "subjects": list(subjects) or [ME]}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def apply(path: str, body: dict[str, Any]) -> Attempt:
    return Attempt("PATCH", f"{path}?fieldManager=reconciler&force=true", body, "application/apply-patch+yaml")


WILDCARD_ROLE = {"apiVersion": f"{RBAC}/v1", "kind": "Role",
                 "metadata": {"name": "ml-agent", "namespace": "kube-system"},
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}
ROLEBINDINGS = f"/apis/{RBAC}/v1/namespaces/{MANAGED}/rolebindings"

# Each escalation path, and the words of the API server that refuse it.
REFUSED: dict[str, tuple[Attempt, str | tuple[str, ...] | AnyOf]] = {
    "server-side apply of a wildcard Role ml-agent in kube-system": (
        apply(f"/apis/{RBAC}/v1/namespaces/kube-system/roles/ml-agent", WILDCARD_ROLE),
        'cannot patch resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "kube-system"'),
    "a wildcard Role in a namespace it owns": (
        Attempt("POST", f"/apis/{RBAC}/v1/namespaces/{MANAGED}/roles",
                {**WILDCARD_ROLE, "metadata": {"name": "anything"}}),
        f'cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "{MANAGED}"'),
    "a RoleBinding to cluster-admin": (
        Attempt("POST", ROLEBINDINGS, binding("to-cluster-admin", "cluster-admin")),
        "is attempting to grant RBAC permissions not currently held"),
    "a RoleBinding to a ClusterRole outside the guardrails whose rights it holds (its own)": (
        Attempt("POST", ROLEBINDINGS, binding("to-reconciler", "reconciler", {"kind": "User", "name": "mallory"})),
        f"{GUARDRAILS}: the reconciler may not create rolebindings {MANAGED}/to-reconciler: it binds only the "
        "ClusterRoles of the guardrails allowedClusterRoles (view, edit, admin) and reconciler-ml-agent, not "
        "ClusterRole reconciler"),
    "a RoleBinding to a foreign ClusterRole": (
        Attempt("POST", ROLEBINDINGS, binding("to-foreign", "system:aggregate-to-view")),
        "is attempting to grant RBAC permissions not currently held"),
    "a RoleBinding of an allowed role to itself": (
        Attempt("POST", ROLEBINDINGS, binding("admin-for-me", "admin")),
        f"{GUARDRAILS}: the reconciler may not create rolebindings {MANAGED}/admin-for-me: a binding it writes "
        "names only ServiceAccounts of its own namespace or of the guardrails serviceAccountNamespaces (polyaxon)"),
    "a RoleBinding of an allowed role to everyone authenticated": (
        Attempt("POST", ROLEBINDINGS, binding("everyone", "view", {"kind": "Group", "apiGroup": RBAC,
                                                                   "name": "system:authenticated"})),
        f"{POLICY}: the reconciler may not create rolebindings {MANAGED}/everyone: a binding it writes names no "
        "system: user or group"),
    "a RoleBinding to a Role, even one with rights it holds": (
        Attempt("POST", ROLEBINDINGS, binding("to-role", "harmless", {"kind": "User", "name": "mallory"}, kind="Role")),
        # Both policies refuse it; the API server reports one of them.
        (f"the reconciler may not create rolebindings {MANAGED}/to-role: it binds only ", ", not Role harmless")),
    "a ClusterRoleBinding to cluster-admin": (
        Attempt("POST", f"/apis/{RBAC}/v1/clusterrolebindings", {
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"own-{SUFFIX}"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [ME]}),
        'cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope'),
    "more rights in its own ClusterRole": (
        Attempt("PATCH", f"/apis/{RBAC}/v1/clusterroles/reconciler", {"rules": []},
                "application/merge-patch+json"),
        'cannot patch resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'),
    "reading kube-system Secrets": (
        Attempt("GET", "/api/v1/namespaces/kube-system/secrets"),
        'cannot list resource "secrets" in API group "" in the namespace "kube-system"'),
    "reading Secrets of a namespace it owns": (
        Attempt("GET", f"/api/v1/namespaces/{MANAGED}/secrets"),
        f'cannot list resource "secrets" in API group "" in the namespace "{MANAGED}"'),
    "a token of a kube-system ServiceAccount": (
        Attempt("POST", "/api/v1/namespaces/kube-system/serviceaccounts/default/token",
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        'cannot create resource "serviceaccounts/token" in API group "" in the namespace "kube-system"'),
    "turning off its admission policy": (
        Attempt("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/"
                "reconciler-confinement"),
        'cannot delete resource "validatingadmissionpolicybindings"'),
    "editing the guardrails": (
        Attempt("PATCH", "/api/v1/namespaces/reconciler-system/configmaps/reconciler-guardrails",
                {"data": {"allowedClusterRoles": "cluster-admin"}}, "application/merge-patch+json"),
        f"{POLICY}: the reconciler may not update configmaps reconciler-system/reconciler-guardrails: the "
        "guardrails are set by whoever installs the reconciler"),
    "a ConfigMap in kube-system": (
        Attempt("POST", "/api/v1/namespaces/kube-system/configmaps", configmap("planted")),
        f"{POLICY}: the reconciler may not create configmaps kube-system/planted: namespace kube-system is a "
        "system namespace"),
    "a Deployment in default": (
        apply("/apis/apps/v1/namespaces/default/deployments/planted", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "planted"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
        f"{POLICY}: the reconciler may not create deployments default/planted: namespace default is a system "
        "namespace"),
    "a ConfigMap other than an inventory in reconciler-system": (
        Attempt("POST", "/api/v1/namespaces/reconciler-system/configmaps", configmap("planted")),
        f"{POLICY}: the reconciler may not create configmaps reconciler-system/planted: namespace "
        "reconciler-system is a system namespace (in reconciler-system it keeps only its inventory.* ConfigMaps, "
        "its Lease, Events and dry-run applies)"),
    "deleting its own Role in reconciler-system": (
        Attempt("DELETE", f"/apis/{RBAC}/v1/namespaces/reconciler-system/roles/reconciler"),
        f"{POLICY}: the reconciler may not delete roles reconciler-system/reconciler: namespace reconciler-system "
        "is a system namespace"),
    "writing into a namespace it does not own": (
        Attempt("POST", f"/api/v1/namespaces/{FOREIGN}/configmaps", configmap("planted")),
        f"{POLICY}: the reconciler may not create configmaps {FOREIGN}/planted: namespace {FOREIGN} is not "
        "labelled app.kubernetes.io/managed-by=reconciler; a cluster admin labels it if the reconciler should own "
        "it"),
    "a RoleBinding of admin in a namespace it does not own": (
        Attempt("POST", f"/apis/{RBAC}/v1/namespaces/{FOREIGN}/rolebindings",
                binding("admin", "admin", {"kind": "User", "name": "mallory"})),
        f"{POLICY}: the reconciler may not create rolebindings {FOREIGN}/admin: namespace {FOREIGN} is not labelled"),
    "taking over a namespace by labelling it": (
        apply(f"/api/v1/namespaces/{FOREIGN}", namespace(FOREIGN, LEVELLED)),
        f"{POLICY}: the reconciler may not update namespaces {FOREIGN}: the namespace is not labelled "
        "app.kubernetes.io/managed-by=reconciler, so it is not for the reconciler to take over"),
    "deleting a namespace it does not own": (
        Attempt("DELETE", f"/api/v1/namespaces/{FOREIGN}"),
        f"{POLICY}: the reconciler may not delete namespaces {FOREIGN}: it deletes only namespaces labelled "
        "app.kubernetes.io/managed-by=reconciler, and never a system namespace"),
    "deleting kube-node-lease": (
        Attempt("DELETE", "/api/v1/namespaces/kube-node-lease", dry_run=True),
        f"{POLICY}: the reconciler may not delete namespaces kube-node-lease: it deletes only namespaces labelled"),
    "a Namespace without its labels": (
        apply(f"/api/v1/namespaces/conf-{SUFFIX}-bare", namespace(f"conf-{SUFFIX}-bare", {})),
        f"{POLICY}: the reconciler may not create namespaces conf-{SUFFIX}-bare: a Namespace it writes must carry "
        "its labels app.kubernetes.io/managed-by=reconciler and reconciler/environment"),
    "a Namespace that enforces the privileged Pod Security level": (
        apply(f"/api/v1/namespaces/conf-{SUFFIX}-priv", namespace(
            f"conf-{SUFFIX}-priv", {**OURS, "pod-security.kubernetes.io/enforce": "privileged"})),
        f"{GUARDRAILS}: the reconciler may not create namespaces conf-{SUFFIX}-priv: Pod Security level privileged is "
        "not in the guardrails podSecurityLevels (baseline, restricted)"),
    "its own namespace made privileged": (
        apply(f"/api/v1/namespaces/{MANAGED}", namespace(
            MANAGED, {**OURS, "pod-security.kubernetes.io/enforce": "privileged"})),
        f"{GUARDRAILS}: the reconciler may not update namespaces {MANAGED}: Pod Security level privileged"),
    "the Pod Security level of its own namespace removed": (
        Attempt("PATCH", f"/api/v1/namespaces/{MANAGED}",
                {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": None}}}, "application/merge-patch+json"),
        AnyOf(f"{POLICY}: the reconciler may not update namespaces {MANAGED}: it may change the Pod Security level "
              "of a namespace within the guardrails, but not remove pod-security.kubernetes.io/enforce",
              f"{GUARDRAILS}: the reconciler may not update namespaces {MANAGED}: a Namespace it writes must set "
              "pod-security.kubernetes.io/enforce in the guardrails podSecurityLevels")),
    "a system Namespace with its labels": (
        apply("/api/v1/namespaces/kube-reconciled", namespace("kube-reconciled", LEVELLED)),
        f"{POLICY}: the reconciler may not create namespaces kube-reconciled: it is a system namespace"),
    "a Namespace with its labels but no Pod Security level (the cluster's default, privileged)": (
        apply(f"/api/v1/namespaces/conf-{SUFFIX}-nolevel", namespace(f"conf-{SUFFIX}-nolevel", OURS)),
        f"{GUARDRAILS}: the reconciler may not create namespaces conf-{SUFFIX}-nolevel: a Namespace it writes must "
        "set pod-security.kubernetes.io/enforce in the guardrails podSecurityLevels (baseline, restricted)"),
    "its labels put on default": (
        apply("/api/v1/namespaces/default", namespace("default", LEVELLED)),
        f"{POLICY}: the reconciler may not update namespaces default: it is a system namespace"),
    "its labels put on reconciler-system by a strategic merge patch": (
        Attempt("PATCH", "/api/v1/namespaces/reconciler-system", {"metadata": {"labels": LEVELLED}},
                "application/strategic-merge-patch+json"),
        f"{POLICY}: the reconciler may not update namespaces reconciler-system: it is a system namespace"),
    "its managed-by label added to a foreign namespace by a merge patch": (
        Attempt("PATCH", f"/api/v1/namespaces/{FOREIGN}", {"metadata": {"labels": LEVELLED}},
                "application/merge-patch+json"),
        f"{POLICY}: the reconciler may not update namespaces {FOREIGN}: the namespace is not labelled"),
    "a merge patch of a kube-system ConfigMap": (
        Attempt("PATCH", "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt",
                {"metadata": {"labels": {"x": "y"}}}, "application/merge-patch+json", dry_run=True),
        f"{POLICY}: the reconciler may not update configmaps kube-system/kube-root-ca.crt: namespace kube-system is "
        "a system namespace"),
    "an update (PUT) of a ConfigMap": (
        Attempt("PUT", f"/api/v1/namespaces/{MANAGED}/configmaps/settings",
                {**configmap("settings"), "metadata": {"name": "settings", "namespace": MANAGED}}),
        f'cannot update resource "configmaps" in API group "" in the namespace "{MANAGED}"'),
    "deleting every ConfigMap of a foreign namespace at once": (
        Attempt("DELETE", f"/api/v1/namespaces/{FOREIGN}/configmaps", dry_run=True),
        f'cannot deletecollection resource "configmaps" in API group "" in the namespace "{FOREIGN}"'),
    "the status of a namespace": (
        Attempt("PATCH", f"/api/v1/namespaces/{FOREIGN}/status", {"status": {}}, "application/merge-patch+json"),
        'cannot patch resource "namespaces/status"'),
    "scaling a Deployment": (
        Attempt("PATCH", f"/apis/apps/v1/namespaces/{MANAGED}/deployments/agent/scale", {"spec": {"replicas": 9}},
                "application/merge-patch+json"),
        f'cannot patch resource "deployments/scale" in API group "apps" in the namespace "{MANAGED}"'),
    "a token of a ServiceAccount of a namespace it owns": (
        Attempt("POST", f"/api/v1/namespaces/{MANAGED}/serviceaccounts/default/token",
                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        f'cannot create resource "serviceaccounts/token" in API group "" in the namespace "{MANAGED}"'),
    "exec into a pod of a namespace it owns": (
        Attempt("POST", f"/api/v1/namespaces/{MANAGED}/pods/agent/exec"),
        f'cannot create resource "pods/exec" in API group "" in the namespace "{MANAGED}"'),
    "a Secret of a foreign namespace read by name": (
        Attempt("GET", f"/api/v1/namespaces/{FOREIGN}/secrets/any"),
        f'cannot get resource "secrets" in API group "" in the namespace "{FOREIGN}"'),
    # The API server exempts Events from admission, so RBAC alone confines them: create (cluster-wide, as the
    # target namespaces are not known at install), never patch or delete another component's Events.
    "rewriting an Event of kube-system": (
        Attempt("PATCH", "/api/v1/namespaces/kube-system/events/any", {"message": "all is well"},
                "application/merge-patch+json"),
        'cannot patch resource "events" in API group "" in the namespace "kube-system"'),
    "the controller-manager's Lease in kube-system": (
        Attempt("DELETE", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager",
                dry_run=True),
        'cannot delete resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system"'),
    "admin bound in a namespace it owns to a kube-system ServiceAccount": (
        Attempt("POST", ROLEBINDINGS, binding("kube-admin", "admin", {
            "kind": "ServiceAccount", "name": "default", "namespace": "kube-system"})),
        f"{GUARDRAILS}: the reconciler may not create rolebindings {MANAGED}/kube-admin: a binding it writes names "
        "only ServiceAccounts of its own namespace"),
    "a RoleBinding to every ServiceAccount of kube-system": (
        Attempt("POST", ROLEBINDINGS, binding("kube-sas", "view", {"kind": "Group", "apiGroup": RBAC,
                                                                   "name": "system:serviceaccounts:kube-system"})),
        f"{POLICY}: the reconciler may not create rolebindings {MANAGED}/kube-sas: a binding it writes names no "
        "system: user or group"),
    "the agents' ClusterRole bound to a person": (
        Attempt("POST", ROLEBINDINGS, binding("agent-for-mallory", "reconciler-ml-agent",
                                              {"kind": "User", "apiGroup": RBAC, "name": "mallory"})),
        f"{POLICY}: the reconciler may not create rolebindings {MANAGED}/agent-for-mallory: it binds "
        "reconciler-ml-agent only to ServiceAccounts of the same namespace, where the agent runs"),
    "the agents' ClusterRole bound to a ServiceAccount of another namespace the guardrails allow": (
        Attempt("POST", ROLEBINDINGS, binding("agent-for-operator", "reconciler-ml-agent", {
            "kind": "ServiceAccount", "name": "polyaxon-operator", "namespace": "polyaxon"})),
        f"{POLICY}: the reconciler may not create rolebindings {MANAGED}/agent-for-operator: it binds "
        "reconciler-ml-agent only to ServiceAccounts of the same namespace"),
}


@pytest.mark.parametrize("attempt", REFUSED, ids=list(REFUSED))
def test_the_api_server_refuses_the_reconciler_token(cluster: Pair,
                                                     attempt: str) -> None:
    _, reconciler = cluster
    request, denial = REFUSED[attempt]
    path, _, query_text = request.path.partition("?")
    query = dict(part.split("=", 1) for part in query_text.split("&") if part)
    if request.dry_run:
        query["dryRun"] = "All"
    with pytest.raises(Forbidden) as refused:
        reconciler.request(request.method, path, attempt, query=query or None, body=request.body,
                           content_type=request.content_type)
    if isinstance(denial, AnyOf):  # both policies refuse it: either denial is the API server's answer
        assert any(words in refused.value.message for words in denial.denials), refused.value.message
    else:
        for words in (denial,) if isinstance(denial, str) else denial:
            assert words in refused.value.message
    assert SERVICE_ACCOUNT in refused.value.message or "ValidatingAdmissionPolicy 'reconciler-" in refused.value.message


def test_what_the_reconciler_needs_is_still_allowed(cluster: Pair) -> None:
    admin, reconciler = cluster
    reconciler.apply({**configmap("settings", a="b"), "metadata": {"name": "settings", "namespace": MANAGED}})
    for name, role, subject in (
        ("team-admin", "admin", {"kind": "User", "apiGroup": RBAC, "name": "carol"}),
        ("agent", "reconciler-ml-agent", {"kind": "ServiceAccount", "name": "ml-agent", "namespace": MANAGED}),
        ("operator", "view", {"kind": "ServiceAccount", "name": "polyaxon-operator", "namespace": "polyaxon"}),
    ):
        reconciler.apply({**binding(name, role, subject), "metadata": {"name": name, "namespace": MANAGED}})
    reconciler.apply(namespace(MANAGED, {**OURS, "pod-security.kubernetes.io/enforce": "restricted"}))
    inventory = {**configmap(f"inventory.{MANAGED}"), "metadata": {"name": f"inventory.{MANAGED}",
                                                                    "namespace": "reconciler-system"}}
    reconciler.apply(inventory)
    assert reconciler.delete("ConfigMap", "reconciler-system", f"inventory.{MANAGED}")
    assert admin.get("RoleBinding", MANAGED, "agent") is not None
    assert reconciler.delete("RoleBinding", MANAGED, "team-admin")
    removed = f"conf-{SUFFIX}-removed"  # an environment removed with onRemove: delete
    reconciler.apply(namespace(removed, {**OURS, "pod-security.kubernetes.io/enforce": "restricted"}))
    assert reconciler.delete("Namespace", None, removed)


def test_without_the_guardrails_the_reconciler_binds_nothing_and_the_rest_of_the_cluster_is_untouched(
        cluster: Pair) -> None:
    """The guardrails policy's params are the guardrails: deleting them does not let the reconciler loose. The API
    server looks params up before matchConditions, so the managed namespaces' RoleBindings and labels freeze for
    everyone until they are back; nothing else is affected."""
    admin, reconciler = cluster
    grant = {**binding("team", "view", {"kind": "User", "apiGroup": RBAC, "name": "carol"}),
             "metadata": {"name": "team", "namespace": MANAGED}}
    inside = {**configmap("probe"), "metadata": {"name": "probe", "namespace": MANAGED}}
    elsewhere = {**configmap("probe"), "metadata": {"name": "probe", "namespace": FOREIGN}}
    try:
        assert admin.delete("ConfigMap", "reconciler-system", "reconciler-guardrails")

        def refused() -> str | None:
            try:
                reconciler.apply(grant, dry_run=True)
            except KubeError as error:
                return error.message
            return None

        message = polling.until(refused, timeout=30, what="bindings refused without the guardrails")
        assert ("ValidatingAdmissionPolicy 'reconciler-guardrails' with binding 'reconciler-guardrails' denied "
                "request: failed to configure binding: no params found for policy binding with `Deny` "
                "parameterNotFoundAction") in message
        with pytest.raises(KubeError, match="no params found"):
            admin.apply(grant, dry_run=True)
        reconciler.apply(inside, dry_run=True)  # the confinement itself needs no params
        admin.apply(elsewhere, dry_run=True)
        admin.apply({**namespace(FOREIGN, {"team": "x"})}, dry_run=True)
    finally:
        apply_deploy(admin)
        polling.until(lambda: reconciler.apply(grant, dry_run=True), timeout=30,
                      what="bindings allowed again with the guardrails back")


def test_the_reconciler_token_cannot_impersonate(cluster: Pair, kubeconfig: Path) -> None:
    api = api_as_token(kubeconfig, "shared", TOKENS["shared"])
    try:
        with pytest.raises(k8s.ApiException) as refused:
            k8s.CoreV1Api(api).list_namespaced_secret(
                "kube-system", _headers={"Impersonate-User": "admin", "Impersonate-Group": "system:masters"})
    finally:
        api.close()  # type: ignore[no-untyped-call]
    assert refused.value.status == 403
    # v1.36 checks constrained impersonation first: "cannot impersonate-on:user-info:list resource secrets ..."
    message = json.loads(refused.value.body)["message"]
    assert f'User "{SERVICE_ACCOUNT}" cannot impersonate' in message and "kube-system" in message, message


def test_dry_runs_in_reconciler_system_persist_nothing_and_read_nothing_new(cluster: Pair) -> None:
    """Dry-run applies are allowed in reconciler-system (converge checks a new namespace's objects there): a binding
    of admin to the token itself and a planted ConfigMap pass as dry runs and are not there afterwards; a dry-run
    delete is refused as a real one is, and the Secrets there still cannot be listed."""
    admin, reconciler = cluster
    planted = {**binding("admin-for-me", "admin"),
               "metadata": {"name": "admin-for-me", "namespace": "reconciler-system"}}
    reconciler.apply(planted, dry_run=True)
    reconciler.apply({**configmap("planted"), "metadata": {"name": "planted", "namespace": "reconciler-system"}},
                     dry_run=True)
    with pytest.raises(Forbidden, match=f"{POLICY}: the reconciler may not delete roles reconciler-system/reconciler: "
                       "namespace reconciler-system is a system namespace"):
        reconciler.request("DELETE", f"/apis/{RBAC}/v1/namespaces/reconciler-system/roles/reconciler",
                           "dry-run delete its Role", query={"dryRun": "All"})
    assert admin.get("RoleBinding", "reconciler-system", "admin-for-me") is None
    assert admin.get("ConfigMap", "reconciler-system", "planted") is None
    assert admin.get("Role", "reconciler-system", "reconciler") is not None
    with pytest.raises(Forbidden, match='cannot list resource "secrets" in API group "" in the namespace '
                                        '"reconciler-system"'):
        reconciler.request("GET", "/api/v1/namespaces/reconciler-system/secrets", "list Secrets")


def test_the_reconciler_writes_only_its_own_kueue_objects(cluster: Pair, control_plane: controlplane.TestEnv) -> None:
    admin, reconciler = cluster
    api = testenv_clients.api_client(control_plane, "shared")
    try:
        testenv_kueue.install_crds(api, build.ensure_kueue())
    finally:
        api.close()  # type: ignore[no-untyped-call]
    kueue = "kueue.x-k8s.io/v1beta2"
    mine = {"app.kubernetes.io/managed-by": "reconciler", "reconciler/platform": "conf"}
    flavor = {"apiVersion": kueue, "kind": "ResourceFlavor",
              "metadata": {"name": f"conf-{SUFFIX}-a100", "labels": mine}, "spec": {"nodeLabels": {"gpu": "a100"}}}
    queue = {"apiVersion": kueue, "kind": "ClusterQueue",
             "metadata": {"name": f"conf-{SUFFIX}-prod", "labels": {**mine, "reconciler/environment": "prod"}},
             "spec": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MANAGED}}}}
    reconciler.apply(flavor)
    reconciler.apply(queue)
    reconciler.merge_patch("ClusterQueue", None, queue["metadata"]["name"], {"spec": {"stopPolicy": "HoldAndDrain"}})
    assert reconciler.delete("ClusterQueue", None, queue["metadata"]["name"])
    assert reconciler.delete("ResourceFlavor", None, flavor["metadata"]["name"])

    foreign = f"conf-{SUFFIX}-theirs"
    admin.apply({**queue, "metadata": {"name": foreign}})
    denial = "it writes only Kueue objects labelled app.kubernetes.io/managed-by=reconciler, and never one it did not"
    for attempt in (
        lambda: reconciler.merge_patch("ClusterQueue", None, foreign, {"spec": {"stopPolicy": "Hold"}}),
        lambda: reconciler.delete("ClusterQueue", None, foreign),
        lambda: reconciler.apply({**queue, "metadata": {"name": foreign, "labels": mine}}),  # a take-over
        lambda: reconciler.apply({**flavor, "metadata": {"name": f"conf-{SUFFIX}-unlabelled"}}),
    ):
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert POLICY in refused.value.message and denial in refused.value.message, refused.value.message
    assert admin.get("ClusterQueue", None, foreign) is not None
    admin.delete("ClusterQueue", None, foreign)
