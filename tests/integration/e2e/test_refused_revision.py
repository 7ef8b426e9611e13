"""A hub converges clusters independently, yet a commit that one API server refuses changes no cluster: the
controller dry-runs the whole revision everywhere before any worker writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support import clients
from .conftest import StartController
from .harness import GitRemote, git

pytestmark = pytest.mark.integration


def test_a_commit_one_api_server_refuses_is_written_nowhere(remote: GitRemote, start_controller: StartController,
                                                            kubeconfig: Path) -> None:
    controller = start_controller("--repo", remote.url, "--interval", "1s", "--kubeconfig", kubeconfig)
    first = git(remote.work, "rev-parse", "HEAD")
    controller.wait_converged(first)
    cluster = clients(remote.work, kubeconfig)
    # dev (cluster shared) changes its quota; prod (cluster gpu) names a resource the schema's pattern accepts
    # and the API server's qualified-name rule refuses.
    edit = remote.work / "environments"
    (edit / "dev.yaml").write_text((edit / "dev.yaml").read_text() + "  quota: {pods: 42}\n")
    prod = (edit / "prod.yaml").read_text()
    (edit / "prod.yaml").write_text(prod.replace("    gpu: 8\n", "    gpu: 8\n    objects: {-odd: 1}\n"))
    bad = remote.commit("dev quota, and a resource name only the API server refuses")
    status = controller.wait_for(lambda: (s := controller.status())["lastBadRevision"] and s, 30, "the refusal")
    assert status["lastBadRevision"]["revision"] == bad
    errors = status["lastBadRevision"]["errors"]
    assert any(f"environment prod: ResourceQuota {remote.prefix}-prod/environment-quota: cluster gpu's API server "
               "refused it in a dry run" in e and "count/-odd" in e for e in errors), errors
    quota = cluster["shared"].get("ResourceQuota", f"{remote.prefix}-dev", "environment-quota")
    assert quota is not None and quota["spec"]["hard"]["pods"] == "100"
    assert controller.cluster_revision("shared") == first and controller.cluster_revision("gpu") == first
    assert controller.terminate() == 0
