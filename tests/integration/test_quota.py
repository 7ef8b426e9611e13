"""Quotas: a change in git updates that one object, and the API server enforces what was rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client as k8s

from testenv import controlplane

from .support import (
    admin_token,
    api_as_token,
    audit_marks,
    clients,
    edit,
    pod,
    pods_admitted,
    private_repo,
    reconciler_writes,
)
from .support import converged as _converged
from .support import live_quota as _quota

pytestmark = pytest.mark.integration


def test_a_quota_change_in_git_updates_only_that_object(
    tmp_path: Path, kubeconfig: Path, control_plane: controlplane.TestEnv
) -> None:
    repo = private_repo(tmp_path, "c")
    _converged(repo, kubeconfig)
    cluster = clients(repo, kubeconfig)
    marks = audit_marks(control_plane)
    edit(repo, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    _converged(repo, kubeconfig)
    assert _quota(cluster["gpu"], "c-prod")["requests.nvidia.com/gpu"] == "4"
    assert reconciler_writes(marks) == {"shared": 0, "gpu": 1}


def test_a_pod_over_the_rendered_quota_is_rejected(tmp_path: Path, kubeconfig: Path) -> None:
    repo = private_repo(tmp_path, "f")
    _converged(repo, kubeconfig)
    core = k8s.CoreV1Api(api_as_token(kubeconfig, "gpu", admin_token(kubeconfig)))
    pods_admitted(core, "f-prod")
    with pytest.raises(k8s.ApiException) as rejected:
        core.create_namespaced_pod("f-prod", pod("too-big", cpu="100", memory="1Gi"))
    assert rejected.value.status == 403
    assert "exceeded quota" in str(rejected.value.body)
