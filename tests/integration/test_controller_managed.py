"""A laptop apply of an older checkout does not silently revert what the in-cluster controller applied: the target
is refused, saying who manages it, unless --force; the inventory records who applied, and at which revision."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.config import load_landscape
from reconciler.converge import engine as converge
from reconciler.kube.client import ClusterClient
from reconciler.plan import inventory as inv
from tests.integration.support import clients, edit, private_repo, run_cli

PROD = "environments/prod.yaml"


def _git(repo: Path, *argv: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _controller_applies(repo: Path, kubeconfig: Path, revision: str) -> None:
    """What the controller's loop does with a revision: converge its cluster, recording itself as the applier."""
    landscape = load_landscape(repo)
    gpu = clients(repo, kubeconfig)["gpu"]
    options = converge.ConvergeOptions(revision=revision, applied_by="controller")
    (result,) = converge.converge(landscape, {"gpu": gpu}, options, landscape.select(cluster="gpu"), lambda _: None)
    assert result.ok, result.errors


def _recorded(gpu: ClusterClient, namespace: str) -> inv.Inventory:
    stored = inv.from_configmap(gpu.get("ConfigMap", inv.SYSTEM_NAMESPACE, inv.configmap_name(namespace)) or {})
    assert stored is not None
    return stored


def _gpu_quota(gpu: ClusterClient, namespace: str) -> str:
    quota = gpu.get("ResourceQuota", namespace, "environment-quota")
    assert quota is not None
    return str(quota["spec"]["hard"]["requests.nvidia.com/gpu"])


def test_an_older_checkout_is_refused_on_controller_managed_targets_unless_forced(
        tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = f"m{uuid.uuid4().hex[:6]}"
    repo = private_repo(tmp_path, prefix)
    _git(repo, "init", "--quiet", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "eight GPUs")
    older = _git(repo, "rev-parse", "HEAD")
    edit(repo, PROD, "gpu: 8", "gpu: 6")
    _git(repo, "commit", "--quiet", "-am", "six GPUs")
    newer = _git(repo, "rev-parse", "HEAD")
    _controller_applies(repo, kubeconfig, newer)
    gpu = clients(repo, kubeconfig)["gpu"]
    namespace = f"{prefix}-prod"
    assert (_recorded(gpu, namespace).applied_by, _recorded(gpu, namespace).revision) == ("controller", newer)

    _git(repo, "checkout", "--quiet", older)
    capsys.readouterr()
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == cli.EXIT_ERROR
    out = capsys.readouterr().out
    assert (f"refused: gpu/{namespace}: managed by the in-cluster controller, which applied revision {newer[:12]} "
            f"at ") in out
    assert f"this apply (revision {older[:12]}) does not contain it and would revert it" in out
    assert "or pass --force" in out
    assert _recorded(gpu, namespace).revision == newer and _gpu_quota(gpu, namespace) == "6"

    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu", "--force") == 0
    forced = _recorded(gpu, namespace)
    assert (forced.applied_by, forced.revision) == ("cli", older) and _gpu_quota(gpu, namespace) == "8"

    # a checkout that contains the controller's revision is at least as new: it applies without --force
    _git(repo, "checkout", "--quiet", "main")
    _controller_applies(repo, kubeconfig, newer)
    edit(repo, PROD, "gpu: 6", "gpu: 5")
    _git(repo, "commit", "--quiet", "-am", "five GPUs")
    assert run_cli("apply", repo, "--kubeconfig", kubeconfig, "--cluster", "gpu") == 0
    assert _recorded(gpu, namespace).applied_by == "cli" and _gpu_quota(gpu, namespace) == "5"
