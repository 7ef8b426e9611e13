"""Converge the sample landscape on two real API servers: every object exists, and a second apply sends no write
at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from testenv import controlplane

from .support import audit_marks, clients, private_repo, reconciler_writes, run_cli
from .support import converged as _converged
from .support import live_quota as _quota

pytestmark = pytest.mark.integration


def test_sample_repo_converges_and_a_second_apply_writes_nothing(
    tmp_path: Path, kubeconfig: Path, control_plane: controlplane.TestEnv
) -> None:
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

    marks = audit_marks(control_plane)
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig) == 0
    assert reconciler_writes(marks) == {"shared": 0, "gpu": 0}, "a no-op reconcile must send zero writes"
    assert run_cli("plan", repo, "--kubeconfig", kubeconfig) == 0
