"""Removing an environment from git: its objects are orphaned unless it asked to be deleted, and a protected environment
is not removed at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.plan import inventory as inv

from .support import clients, edit, private_repo, run_cli
from .support import converged as _converged

pytestmark = pytest.mark.integration


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
