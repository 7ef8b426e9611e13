"""Pruning: only what the reconciler applied and recorded is deleted, and a plan that deletes too much of a target is
refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import clients, edit, private_repo, run_cli
from .support import converged as _converged

pytestmark = pytest.mark.integration


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
