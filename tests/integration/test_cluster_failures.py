"""One cluster's failure (unreachable, no credentials) fails that cluster alone; the other converges."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import clients, private_repo, run_cli

pytestmark = pytest.mark.integration


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
