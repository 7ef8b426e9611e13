"""A bad revision changes nothing, even when only the API server can tell it is bad.

Each revision here passes ``validate``: its bad value is put into the loaded landscape, past every check the
repository could make, so only the API server's own validation can refuse it. The dry run before the first write
must then stop the revision on every cluster: no object, no inventory entry, and an error that names the
environment, the object and what the server said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from reconciler.config import Landscape, load_landscape
from reconciler.config.model import Target
from reconciler.converge import cluster as converge_cluster
from reconciler.converge import engine as converge
from reconciler.converge.engine import ClusterResult
from reconciler.kube.client import ClusterClient
from reconciler.plan import inventory as inv
from reconciler.render import render_target
from reconciler.render.objects import Manifest
from testenv import polling

from .support import clients, edit, private_repo

pytestmark = pytest.mark.integration

Breaker = Callable[[Landscape], None]


def _limitrange_default_above_max(landscape: Landscape) -> None:
    limits = landscape.environments["prod"].limits
    limits.setdefault("max", {})["cpu"] = "4"
    limits["default"]["cpu"] = "8"


def _agent_requests_above_limits(landscape: Landscape) -> None:
    agent = landscape.environments["dev"].agent
    assert agent is not None
    agent.resources["requests"]["cpu"] = "2"  # limits: 500m


def _binding_with_an_empty_subject(landscape: Landscape) -> None:
    team = landscape.teams["platform"]
    landscape.teams["platform"] = replace(team, users=(*team.users, ""))


BROKEN: dict[str, tuple[Breaker, str, str]] = {
    # case: (how, the object refused, what the API server says about it)
    "limitrange": (_limitrange_default_above_max, "environment prod: LimitRange {p}-prod/environment-limits",
                   "default value 8 is greater than max value 4"),
    "deployment": (_agent_requests_above_limits, "environment dev: Deployment {p}-dev/ml-agent",
                   "must be less than or equal to cpu limit"),
    "rolebinding": (_binding_with_an_empty_subject, "RoleBinding {p}-",
                    "name: Required value"),
}


def _converge(landscape: Landscape, cluster: dict[str, ClusterClient],
              progress: converge.Progress = lambda _: None) -> list[ClusterResult]:
    return converge.converge(landscape, cluster, converge.ConvergeOptions(revision="bad"), landscape.targets,
                             progress)


def _ours(cluster: dict[str, ClusterClient], prefix: str) -> list[str]:
    """Every trace of the landscape ``prefix`` on both clusters: its namespaces and inventory entries."""
    found = []
    for name, one in sorted(cluster.items()):
        found += [f"{name}: Namespace {n['metadata']['name']}" for n in one.list("Namespace", metadata_only=True)
                  if n["metadata"]["name"].startswith(f"{prefix}-")]
        found += [f"{name}: inventory {c['metadata']['name']}"
                  for c in one.list("ConfigMap", inv.selector(f"platform-{prefix}"), namespace=inv.SYSTEM_NAMESPACE)]
    return found


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_revision_the_api_server_refuses_changes_nothing_on_any_cluster(tmp_path: Path, kubeconfig: Path,
                                                                          case: str) -> None:
    prefix = f"br{sorted(BROKEN).index(case)}"
    repo = private_repo(tmp_path, prefix)
    landscape = load_landscape(repo)
    breaker, refused, said = BROKEN[case]
    breaker(landscape)
    cluster = clients(repo, kubeconfig)
    results = _converge(landscape, cluster)
    errors = [error for result in results for error in result.errors]
    matching = [e for e in errors if refused.format(p=prefix) in e and said in e and "in a dry run" in e]
    assert matching, "\n".join(errors)
    assert all("nothing was written on any cluster" in e for e in errors), errors
    assert all(not result.applied and not result.ok for result in results)
    # Every new namespace was dry-run too, on both clusters: nothing of the revision exists anywhere.
    assert _ours(cluster, prefix) == []


def _with_unknown_field(kind: str) -> Callable[[Target, Landscape], list[Manifest]]:
    """Rendering as an older API server would see it: a field in ``kind`` that its schema does not know."""
    def render(target: Target, landscape: Landscape) -> list[Manifest]:
        return [{**obj, "spec": {**obj["spec"], "isolation": "strict"}} if obj["kind"] == kind else obj
                for obj in render_target(target, landscape)]
    return render


@pytest.mark.parametrize("kind", ["Deployment", "NetworkPolicy"])  # dry-run by apply (HTTP 500), by create (400)
def test_a_field_the_api_server_does_not_know_changes_nothing_on_any_cluster(tmp_path: Path, kubeconfig: Path,
                                                                            monkeypatch: pytest.MonkeyPatch,
                                                                            kind: str) -> None:
    prefix = f"bru{kind[0].lower()}"
    repo = private_repo(tmp_path, prefix)
    monkeypatch.setattr(converge_cluster, "render_target", _with_unknown_field(kind))
    cluster = clients(repo, kubeconfig)
    results = _converge(load_landscape(repo), cluster)
    errors = [error for result in results for error in result.errors]
    assert [e for e in errors if f"{kind} {prefix}-" in e and "spec.isolation" in e and "in a dry run" in e], errors
    assert all("nothing was written on any cluster" in e for e in errors), errors
    assert _ours(cluster, prefix) == []


def test_a_bad_revision_of_a_converged_landscape_grants_nothing(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "brx")
    cluster = clients(repo, kubeconfig)
    assert all(r.ok for r in _converge(load_landscape(repo), cluster))
    before = {name: _inventories(one, "brx") for name, one in cluster.items()}
    # The case: access granted earlier in the apply order than the object the server refuses.
    edit(repo, "environments/prod.yaml", "    - {team: vision, role: view}\n",
         "    - {team: vision, role: view}\n    - {user: eve@example.com, role: admin}\n")
    landscape = load_landscape(repo)
    _limitrange_default_above_max(landscape)
    results = _converge(landscape, cluster)
    gpu = next(r for r in results if r.cluster == "gpu")
    assert any("LimitRange brx-prod/environment-limits" in e and "greater than max value" in e for e in gpu.errors)
    bindings = cluster["gpu"].list("RoleBinding", converge.MANAGED_SELECTOR, namespace="brx-prod")
    assert bindings and not [b for b in bindings if "eve@example.com" in str(b.get("subjects"))]
    limits = cluster["gpu"].get("LimitRange", "brx-prod", "environment-limits")
    assert limits is not None and limits["spec"]["limits"][0]["default"]["cpu"] == "1"
    assert {name: _inventories(one, "brx") for name, one in cluster.items()} == before


def _inventories(client: ClusterClient, prefix: str) -> dict[str, tuple[str, tuple[inv.ObjectRef, ...]]]:
    stored = [inv.from_configmap(c) for c in client.list("ConfigMap", inv.selector(f"platform-{prefix}"),
                                                         namespace=inv.SYSTEM_NAMESPACE)]
    return {s.namespace: (s.revision, s.objects) for s in stored if s is not None}


def test_a_write_that_fails_after_the_dry_run_leaves_an_exact_inventory(tmp_path: Path, kubeconfig: Path,
                                                                        api_client: Callable[..., k8s.ApiClient]
                                                                        ) -> None:
    """A race: once the namespace exists, a quota that allows no RoleBinding appears (as another actor could add
    it)."""
    repo = private_repo(tmp_path, "bry")
    landscape = load_landscape(repo)
    core = k8s.CoreV1Api(api_client("shared"))

    rbac = k8s.RbacAuthorizationV1Api(api_client("shared"))

    def refused() -> bool:
        try:
            view = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
            rbac.create_namespaced_role_binding("bry-dev", {"metadata": {"name": "probe"}, "roleRef": view},
                                                dry_run="All")
        except ApiException as error:
            return error.status == 403
        return False

    def race(message: str) -> None:
        if message == "shared: created Namespace/bry-dev":
            core.create_namespaced_resource_quota("bry-dev", {
                "metadata": {"name": "no-bindings"},
                "spec": {"hard": {"count/rolebindings.rbac.authorization.k8s.io": "0"}}})
            # Quota admission reads quotas from a cache: wait until it refuses RoleBindings before the converge goes on.
            polling.until(refused, timeout=30, what="quota admission to refuse RoleBindings in bry-dev")

    cluster = clients(repo, kubeconfig)
    shared = next(r for r in _converge(landscape, {"shared": cluster["shared"]}, race) if r.cluster == "shared")
    first = "RoleBinding/bry-dev/access-team-platform-admin"
    stopped = [e for e in shared.errors if f"converge of shared/bry-dev stopped at {first}" in e]
    assert stopped and "exceeded quota: no-bindings" in stopped[0] and f"not applied: {first}" in stopped[0], \
        shared.errors
    applied = {entry.split(" ", 1)[1] for entry in shared.applied if "/bry-dev" in entry}
    assert applied == {"Namespace/bry-dev", "ServiceAccount/bry-dev/ml-agent"}
    stored = _inventories(cluster["shared"], "bry")["bry-dev"]
    assert {str(ref) for ref in stored[1]} == applied
    assert cluster["shared"].list("RoleBinding", namespace="bry-dev") == []
