"""Ownership on real API servers: an object of another environment or of another Platform whose name the repository
wants is a conflict and stays as it is; a rename is an explicit takeOver that the plan shows and apply carries out."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.kube.client import ClusterClient
from reconciler.plan import inventory as inv
from reconciler.render import render_target

from .support import clients, edit, private_repo, run_cli
from .support import converged as _converged

pytestmark = pytest.mark.integration


def _apply(repo: Path, kubeconfig: Path) -> int:
    return run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared")


def _labels(client: ClusterClient, kind: str, namespace: str | None, name: str) -> dict[str, str]:
    obj = client.get(kind, namespace, name)
    assert obj is not None, (kind, namespace, name)
    return dict(obj["metadata"]["labels"])


def test_an_object_of_another_environment_is_a_conflict_and_left_unchanged(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "oe")
    assert _apply(repo, kubeconfig) == 0
    shared = clients(repo, kubeconfig)["shared"]
    # Another environment's quota, under the name dev wants (e.g. written by staging before a mix-up).
    shared.merge_patch("ResourceQuota", "oe-dev", "environment-quota", {
        "metadata": {"labels": {"reconciler/environment": "staging"}}, "spec": {"hard": {"pods": "3"}}})
    capsys.readouterr()
    assert _apply(repo, kubeconfig) == 1
    shown = capsys.readouterr().out
    assert ("x ResourceQuota/oe-dev/environment-quota\n        belongs to environment 'staging' of Platform "
            "'platform-oe'; it is left alone. If environment 'dev' is meant to take it over (a rename or a move), "
            "add `takeOver: [{environment: staging}]` to it") in shown
    quota = shared.get("ResourceQuota", "oe-dev", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["pods"] == "3"
    assert quota["metadata"]["labels"]["reconciler/environment"] == "staging"


def test_another_platform_cannot_take_a_namespace_or_its_objects(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ours = private_repo(tmp_path, "op")
    assert _apply(ours, kubeconfig) == 0
    theirs = tmp_path / "theirs"
    shutil.copytree(ours, theirs)
    edit(theirs, "platform.yaml", "name: platform-op", "name: research-platform")
    edit(theirs, "profiles/standard.yaml", "    cpu: \"16\"\n", "    cpu: \"1\"\n")
    shared = clients(ours, kubeconfig)["shared"]
    inventory_before = shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("op-dev"))
    capsys.readouterr()
    assert _apply(theirs, kubeconfig) == 1
    shown = capsys.readouterr().out
    assert ("refused: namespace op-dev on cluster shared belongs to environment 'dev' of Platform 'platform-op'; it "
            "is left alone. If environment 'dev' is meant to take it over (a rename or a move), add `takeOver: "
            "[{environment: dev, platform: platform-op}]` to it. Nothing of environment dev is written into it"
            ) in shown
    quota = shared.get("ResourceQuota", "op-dev", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["requests.cpu"] == "16"
    assert _labels(shared, "Namespace", None, "op-dev")["reconciler/platform"] == "platform-op"
    inventory_after = shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("op-dev"))
    assert inventory_before is not None and inventory_after is not None
    assert inventory_after["data"] == inventory_before["data"]
    assert _apply(ours, kubeconfig) == 0  # the owner still converges, undisturbed


def test_a_renamed_environment_is_refused_until_it_takes_over_and_the_plan_shows_the_move(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, "om")
    assert _apply(repo, kubeconfig) == 0
    edit(repo, "environments/dev.yaml", "  name: dev\n", "  name: development\n")
    capsys.readouterr()
    assert _apply(repo, kubeconfig) == 1
    assert ("refused: namespace om-dev on cluster shared is recorded in the inventory of environment 'dev' of "
            "Platform 'platform-om'. If environment 'development' is meant to take it over (a rename or a move), add "
            "`takeOver: [{environment: dev}]` to it, or remove the target from one of the two environments"
            ) in capsys.readouterr().out
    shared = clients(repo, kubeconfig)["shared"]
    assert _labels(shared, "Namespace", None, "om-dev")["reconciler/environment"] == "dev"

    edit(repo, "environments/dev.yaml", "  extends: [standard]\n",
         "  extends: [standard]\n  takeOver: [{environment: dev}]\n")
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "-v") == 2
    shown = capsys.readouterr().out
    landscape = load_landscape(repo)
    (target,) = landscape.select("shared", "development")
    moved = len(render_target(target, landscape))  # every object of the target, the Namespace included
    assert (f"takes over {moved} object(s) of environment 'dev' of Platform 'platform-om' (takeOver): their labels "
            "change to environment development") in shown
    assert "metadata.labels.reconciler/environment: dev -> development" in shown
    assert ("~ Deployment/om-dev/ml-agent\n        taken over from environment 'dev' of Platform 'platform-om' "
            "(takeOver); its spec.selector cannot change: it is deleted and created again (its pods restart)") in shown
    assert _apply(repo, kubeconfig) == 0
    for kind, namespace, name in (("Namespace", None, "om-dev"), ("ResourceQuota", "om-dev", "environment-quota"),
                                  ("Deployment", "om-dev", "ml-agent")):
        assert _labels(shared, kind, namespace, name)["reconciler/environment"] == "development"
    agent = shared.get("Deployment", "om-dev", "ml-agent")
    assert agent is not None and agent["spec"]["selector"]["matchLabels"]["reconciler/environment"] == "development"
    stored = inv.from_configmap(shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("om-dev")) or {})
    assert stored is not None and stored.environment == "development"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "shared") == 0


def test_an_installation_from_before_the_platform_label_converges_without_conflicts(
        tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "ou")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--env", "dev") == 0
    shared = clients(repo, kubeconfig)["shared"]
    stored = inv.from_configmap(shared.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name("ou-dev")) or {})
    assert stored is not None
    for ref in stored.objects:  # as an older reconciler left them: our two labels, in the inventory
        shared.merge_patch(ref.kind, ref.namespace or None, ref.name,
                           {"metadata": {"labels": {"reconciler/platform": None}}})
    assert "reconciler/platform" not in _labels(shared, "ResourceQuota", "ou-dev", "environment-quota")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--env", "dev") == 0
    for ref in stored.objects:
        assert _labels(shared, ref.kind, ref.namespace or None, ref.name)["reconciler/platform"] == "platform-ou"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig, "--cluster", "shared", "--env", "dev") == 0


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
