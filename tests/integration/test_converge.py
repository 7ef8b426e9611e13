"""Converge the sample landscape on two real API servers and hold the reconciler to its promises."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from reconciler import inventory as inv
from reconciler.kube.client import ClusterClient
from testenv import controlplane

from .support import (
    SAMPLE,
    admin_token,
    api_as_token,
    clients,
    edit,
    pod,
    pods_admitted,
    private_repo,
    quiet_writes,
    run_cli,
    write_requests,
)

pytestmark = pytest.mark.integration


def _converged(repo: Path, kubeconfig: Path, *extra: str) -> None:
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, *extra) == 0


def _quota(client: ClusterClient, namespace: str) -> dict[str, str]:
    quota = client.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None
    return dict(quota["spec"]["hard"])


def test_sample_repo_converges_and_a_second_apply_writes_nothing(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "a")
    _converged(repo, kubeconfig)
    cluster = clients(repo, kubeconfig)
    for name, namespace in (("shared", "a-dev"), ("shared", "a-staging"), ("gpu", "a-prod")):
        for kind, object_name in (
            ("Namespace", namespace),
            ("ResourceQuota", "environment-quota"),
            ("LimitRange", "environment-limits"),
            ("Deployment", "ml-agent"),
            ("NetworkPolicy", "environment-isolation"),
        ):
            assert cluster[name].get(kind, namespace, object_name) is not None, (name, kind, namespace)
    assert _quota(cluster["gpu"], "a-prod")["requests.nvidia.com/gpu"] == "8"

    before = {name: quiet_writes(c) for name, c in cluster.items()}
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    after = {name: write_requests(c) for name, c in cluster.items()}
    assert after == before, "a no-op reconcile must send zero writes"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) == 0


def test_drift_is_shown_by_plan_and_undone_by_apply(
    tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = private_repo(tmp_path, "b")
    _converged(repo, kubeconfig)
    gpu = clients(repo, kubeconfig)["gpu"]
    gpu.merge_patch(
        "ResourceQuota", "b-prod", "environment-quota", {"spec": {"hard": {"requests.nvidia.com/gpu": "1"}}}
    )
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 2
    shown = capsys.readouterr().out
    assert "~ ResourceQuota/b-prod/environment-quota" in shown
    assert "spec.hard.requests.nvidia.com/gpu: 1 -> 8" in shown
    _converged(repo, kubeconfig, "--cluster", "gpu")
    assert _quota(gpu, "b-prod")["requests.nvidia.com/gpu"] == "8"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0


def test_a_quota_change_in_git_updates_only_that_object(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "c")
    _converged(repo, kubeconfig)
    cluster = clients(repo, kubeconfig)
    before = quiet_writes(cluster["gpu"])  # the agents' pods start, and an earlier test's namespace may be emptied
    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    _converged(repo, kubeconfig)
    assert _quota(cluster["gpu"], "c-prod")["requests.nvidia.com/gpu"] == "4"
    assert write_requests(cluster["gpu"]) - before == 1


def test_rbac_lets_a_team_edit_in_dev_and_keeps_it_out_of_prod(
    tmp_path: Path, kubeconfig: Path, control_plane
) -> None:  # type: ignore[no-untyped-def]
    repo = private_repo(tmp_path, "d")
    _converged(repo, kubeconfig)
    alice = control_plane.token("alice")  # team research: edit in dev, view in prod
    dev = k8s.CoreV1Api(api_as_token(kubeconfig, "shared", alice))
    pods_admitted(k8s.CoreV1Api(api_as_token(kubeconfig, "shared", admin_token(kubeconfig))), "d-dev")
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
    admin = k8s.CoreV1Api(api_as_token(kubeconfig, "shared", admin_token(kubeconfig)))
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}}
    token = admin.create_namespaced_service_account_token("ml-agent", "e-dev", request).status.token
    agent = k8s.CoreV1Api(api_as_token(kubeconfig, "shared", token))
    pods_admitted(admin, "e-dev")
    agent.create_namespaced_pod("e-dev", pod("run-1"))
    with pytest.raises(k8s.ApiException) as refused:
        agent.create_namespaced_pod("e-staging", pod("run-1"))
    assert refused.value.status == 403


def test_a_pod_over_the_rendered_quota_is_rejected(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "f")
    _converged(repo, kubeconfig)
    core = k8s.CoreV1Api(api_as_token(kubeconfig, "gpu", admin_token(kubeconfig)))
    pods_admitted(core, "f-prod")
    with pytest.raises(k8s.ApiException) as rejected:
        core.create_namespaced_pod("f-prod", pod("too-big", cpu="100", memory="1Gi"))
    assert rejected.value.status == 403
    assert "exceeded quota" in str(rejected.value.body)


def test_unlabelled_objects_in_a_managed_namespace_are_never_deleted(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "g")
    _converged(repo, kubeconfig)
    shared = clients(repo, kubeconfig)["shared"]
    notes = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "team-notes", "namespace": "g-dev"}}
    shared.request("POST", "/api/v1/namespaces/g-dev/configmaps", "create notes", body=notes)
    # Labelled like ours, but never applied by the reconciler: not in the inventory, so not ours to prune.
    copied = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "copied-labels",
            "namespace": "g-dev",
            "labels": {"app.kubernetes.io/managed-by": "reconciler"},
        },
    }
    shared.request("POST", "/api/v1/namespaces/g-dev/configmaps", "create copy", body=copied)
    edit(repo, "environments/dev.yaml", "    - {team: vision, role: edit}\n", "")
    _converged(repo, kubeconfig)
    assert shared.get("RoleBinding", "g-dev", "access-team-vision-edit") is None  # ours and stale: pruned
    assert shared.get("ConfigMap", "g-dev", "team-notes") is not None
    assert shared.get("ConfigMap", "g-dev", "copied-labels") is not None


def test_removing_an_environment_orphans_its_namespace(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "h")
    _converged(repo, kubeconfig)
    (repo / "environments" / "staging.yaml").unlink()
    _converged(repo, kubeconfig)
    shared = clients(repo, kubeconfig)["shared"]
    namespace = shared.get("Namespace", None, "h-staging")
    assert namespace is not None and namespace["metadata"].get("deletionTimestamp") is None
    quota = shared.get("ResourceQuota", "h-staging", "environment-quota")
    assert quota is not None and "reconciler/orphaned" in quota["metadata"]["annotations"]
    assert shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("h-staging")) is None
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) == 0


def test_on_remove_delete_is_the_allowance_and_deletes_without_the_override(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "i")
    edit(repo, "environments/staging.yaml", "  extends: [standard]\n", "  extends: [standard]\n  onRemove: delete\n")
    _converged(repo, kubeconfig)
    (repo / "environments" / "staging.yaml").unlink()
    shared = clients(repo, kubeconfig)["shared"]
    _converged(repo, kubeconfig)  # every object of it deleted: what `onRemove: delete` asked for
    assert shared.get("Deployment", "i-staging", "ml-agent") is None
    namespace = shared.get("Namespace", None, "i-staging")
    assert namespace is None or namespace["metadata"].get("deletionTimestamp") is not None


def test_a_protected_environment_removed_from_git_is_refused(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "j")
    _converged(repo, kubeconfig)
    (repo / "environments" / "prod.yaml").unlink()
    edit(repo, "platform.yaml", "    environments:\n      prod:\n        access-widened: block\n", "")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--allow-mass-delete") == 1
    gpu = clients(repo, kubeconfig)["gpu"]
    assert gpu.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("j-prod")) is not None
    quota = gpu.get("ResourceQuota", "j-prod", "environment-quota")
    assert quota is not None and "reconciler/orphaned" not in (quota["metadata"].get("annotations") or {})


def test_mass_deletion_is_refused_and_deletes_nothing(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "k")
    _converged(repo, kubeconfig)
    # Without its agent and access entries, dev keeps 4 of its 12 objects: 8 deletions, 67% > 25%.
    edit(repo, "environments/dev.yaml", "  agent:\n", "  agent:\n    enabled: false\n")
    edit(repo, "environments/dev.yaml", "    - {team: research, role: edit}\n", "")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 1
    shared = clients(repo, kubeconfig)["shared"]
    assert shared.get("Deployment", "k-dev", "ml-agent") is not None
    _converged(repo, kubeconfig, "--allow-mass-delete")
    assert shared.get("Deployment", "k-dev", "ml-agent") is None


def test_an_object_that_is_not_ours_is_a_conflict_unless_adopted(
    tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = private_repo(tmp_path, "l")
    shared = clients(repo, kubeconfig)["shared"]
    shared.request(
        "POST",
        "/api/v1/namespaces",
        "create ns",
        body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "l-dev"}},
    )
    theirs = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ml-agent-config", "namespace": "l-dev"},
        "data": {"owner": "someone else"},
    }
    shared.request("POST", "/api/v1/namespaces/l-dev/configmaps", "create cm", body=theirs)
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 1
    # The namespace is not ours either, so the whole target is refused: the ConfigMap is not even looked at.
    assert "x Namespace/l-dev" in capsys.readouterr().out
    live = shared.get("ConfigMap", "l-dev", "ml-agent-config")
    assert live is not None and live["data"] == {"owner": "someone else"}
    edit(repo, "environments/dev.yaml", "  extends: [standard]\n", "  extends: [standard]\n  adopt: true\n")
    _converged(repo, kubeconfig, "--cluster", "shared")
    adopted = shared.get("ConfigMap", "l-dev", "ml-agent-config")
    assert adopted is not None and adopted["data"]["POLYAXON_SET_AGENT"] == "true"


def test_one_unreachable_cluster_does_not_stop_the_other(
    tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = private_repo(tmp_path, "m")
    broken = tmp_path / "kubeconfig"
    text = kubeconfig.read_text()
    gpu_server = clients(repo, kubeconfig)["gpu"].server
    broken.write_text(text.replace(gpu_server, "https://127.0.0.1:1"))
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", broken) == 1
    out = capsys.readouterr().out
    assert "cluster gpu" in out and "cannot reach" in out
    assert clients(repo, kubeconfig)["shared"].get("Deployment", "m-dev", "ml-agent") is not None



def test_dry_run_changes_nothing(tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "n")
    cluster = clients(repo, kubeconfig)
    before = {name: quiet_writes(c) for name, c in cluster.items()}
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--dry-run") == 0
    out = capsys.readouterr().out
    checked = re.search(r"the API servers checked (all )?(\d+)( of (\d+))? object\(s\) to write", out)
    assert checked is not None and int(checked.group(2)) > 0
    assert cluster["shared"].get("Namespace", None, "n-dev") is None
    assert {name: write_requests(c) for name, c in cluster.items()} == before
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) == 2


def test_wait_reports_an_agent_that_does_not_become_ready(tmp_path: Path, kubeconfig: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "o")
    # No node carries the labels of this pool: the agents' pods stay Pending, so the rollout never completes.
    edit(repo, "clusters/shared.yaml", "  nodePools:\n", "  nodePools:\n    tpu: {nodeSelector: {accelerator: tpu}}\n")
    edit(repo, "environments/dev.yaml", "  agent:\n", "  agent:\n    nodePool: tpu\n")
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--wait", "2") == 1
    assert "still progressing after waiting 2s" in capsys.readouterr().out


def test_a_cluster_can_be_reached_through_a_kubeconfig_secret(tmp_path: Path, kubeconfig: Path,
                                                               control_plane: controlplane.TestEnv) -> None:
    import base64

    import yaml

    from reconciler.config.model import Cluster, ClusterConnection, KubeconfigSecret
    from reconciler.kube.connect import connect

    config = yaml.safe_load(kubeconfig.read_text())
    config["current-context"] = "gpu"
    home = clients(private_repo(tmp_path, "p"), kubeconfig)["shared"]
    home.apply(inv.system_namespace())
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "gpu-kubeconfig", "namespace": inv.SYSTEM_NAMESPACE},
              "data": {"kubeconfig": base64.b64encode(yaml.safe_dump(config).encode()).decode()}}
    home.request("POST", f"/api/v1/namespaces/{inv.SYSTEM_NAMESPACE}/secrets", "create secret", body=secret)
    cluster = Cluster("gpu", ClusterConnection(kubeconfig_secret=KubeconfigSecret(
        inv.SYSTEM_NAMESPACE, "gpu-kubeconfig", "kubeconfig", None)), {}, None)  # type: ignore[arg-type]
    remote = connect(cluster, home=home)
    assert remote.server == control_plane.cluster("gpu").server
    assert remote.get("Namespace", None, "kube-system") is not None


def test_missing_credentials_for_one_cluster_fail_only_that_cluster(tmp_path: Path, kubeconfig: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    repo = private_repo(tmp_path, "q")
    config = yaml.safe_load(kubeconfig.read_text())
    config["contexts"] = [c for c in config["contexts"] if c["name"] != "gpu"]
    partial = tmp_path / "kubeconfig"
    partial.write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", partial) == 1
    out = capsys.readouterr().out
    assert "cluster gpu: context 'gpu' (named by clusters/gpu.yaml:" in out
    assert "is not in kubeconfig" in out and "it has: shared. Fix the Cluster's context, or pass --context" in out
    assert clients(repo, kubeconfig)["shared"].get("Deployment", "q-dev", "ml-agent") is not None


def test_changes_outside_the_change_window_are_held(tmp_path: Path, kubeconfig: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "r")
    _converged(repo, kubeconfig, "--cluster", "gpu")
    # prod may change only on Mondays 09:00-10:00 UTC: a window that is closed at the moment below.
    edit(repo, "platform.yaml", "  massDeletePercent: 25\n",
         "  massDeletePercent: 25\n  changeWindows:\n    - {environments: [prod], days: [mon], start: \"09:00\", "
         "end: \"10:00\"}\n")
    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    from datetime import UTC, datetime

    from reconciler import converge
    from reconciler.config import load_landscape

    landscape = load_landscape(repo)
    gpu = clients(repo, kubeconfig)["gpu"]
    tuesday = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    (held,) = converge.converge(landscape, {"gpu": gpu}, converge.ConvergeOptions(now=tuesday),
                                landscape.select("gpu"), lambda _: None)
    assert not held.ok and held.targets[0].held.startswith("outside the change window of prod")
    assert _quota(gpu, "r-prod")["requests.nvidia.com/gpu"] == "8"
    monday = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    (applied,) = converge.converge(landscape, {"gpu": gpu}, converge.ConvergeOptions(now=monday),
                                   landscape.select("gpu"), lambda _: None)
    assert applied.ok and _quota(gpu, "r-prod")["requests.nvidia.com/gpu"] == "4"
