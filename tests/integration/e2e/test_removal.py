"""Environments removed from the repository under the controller: `onRemove: delete` deletes the environment's
objects and its namespace (the mass-deletion guard does not stand in the way of what the user asked for); the
default orphans them, and an environment that comes back takes them back without the orphan annotation; a
protected environment's removal is refused, changes nothing, and /status shows it as refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.converge.engine import ORPHANED_ANNOTATION
from testenv import polling

from ..support import clients
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration


def test_removed_environments_are_deleted_or_orphaned_as_they_asked_and_orphans_come_back(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    shared = clients(remote.work, kubeconfig)["shared"]
    dev, staging = f"{remote.prefix}-dev", f"{remote.prefix}-staging"
    remote.edit("environments/dev.yaml", "  extends: [standard]\n", "  extends: [standard]\n  onRemove: delete\n")
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    staging_file = (remote.work / "environments/staging.yaml").read_text()

    (remote.work / "environments/dev.yaml").unlink()
    (remote.work / "environments/staging.yaml").unlink()
    removed = remote.commit("remove dev (onRemove: delete) and staging (orphaned)")
    controller.wait_converged(removed, clusters=("shared",), timeout=30)
    targets = controller.status()["clusters"]["shared"]["targets"]
    assert (targets[dev]["state"], targets[staging]["state"]) == ("removed", "removed"), targets
    polling.until(lambda: shared.get("Namespace", None, dev) is None, timeout=90,
                  what=f"namespace {dev} deleted, as onRemove: delete asked")
    assert shared.list("ResourceQuota", namespace=dev) == []
    quota = shared.get("ResourceQuota", staging, "environment-quota")
    assert quota is not None and ORPHANED_ANNOTATION in quota["metadata"]["annotations"], "staging is orphaned"

    (remote.work / "environments/staging.yaml").write_text(staging_file)
    back = remote.commit("staging comes back")
    controller.wait_converged(back, clusters=("shared",), timeout=30)
    for kind, name in (("ResourceQuota", "environment-quota"), ("Deployment", "ml-agent"), ("Namespace", staging)):
        obj = shared.get(kind, None if kind == "Namespace" else staging, name)
        assert obj is not None and ORPHANED_ANNOTATION not in (obj["metadata"].get("annotations") or {}), kind
    assert controller.terminate() == 0


def test_a_protected_environment_removed_is_refused_and_shown_as_refused(
    remote: GitRemote, start_controller: StartController, kubeconfig: Path
) -> None:
    gpu = clients(remote.work, kubeconfig)["gpu"]
    prod = f"{remote.prefix}-prod"
    approvals = remote.work.parent / "approvals"
    approvals.write_text("")
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig,
                                  "--approvals", approvals)
    controller.wait_converged(git(remote.work, "rev-parse", "HEAD"))
    (remote.work / "environments/prod.yaml").unlink()
    platform = remote.work / "platform.yaml"
    prod_rules = "    environments:\n      prod:\n        access-widened: block\n"
    platform.write_text(platform.read_text().replace(prod_rules, ""))  # it would name an unknown environment
    removal = remote.commit("remove prod")
    # The risk policy changes with it, which holds the commit until the platform's owners release it.
    controller.wait_for(lambda: (controller.status()["heldRevision"] or {}).get("revision") == removal, 30,
                        "the risk-policy change to be held")
    approvals.write_text(f"{removal}  # reviewed: prod's rules go with prod\n")
    state = controller.wait_for(
        lambda: (lambda c: c if c.get("state") == "refused" else None)(controller.status()["clusters"]["gpu"]),
        30, "the gpu cluster refusing the removal of protected prod")
    print("\n/status of prod:", state["targets"][prod])
    assert state["targets"][prod]["state"] == "refused"
    assert "protected" in state["targets"][prod]["lastError"]
    quota = gpu.get("ResourceQuota", prod, "environment-quota")
    assert quota is not None and ORPHANED_ANNOTATION not in (quota["metadata"].get("annotations") or {})
    assert gpu.get("Namespace", None, prod) is not None
    assert controller.terminate() == 0
