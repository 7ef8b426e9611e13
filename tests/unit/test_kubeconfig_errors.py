"""Kubeconfig problems are told in the reconciler's words: which file, which context, what exists, what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.cli import main as cli
from tests.unit.conftest import SAMPLE_REPO


def _kubeconfig(path: Path, contexts: list[str]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": c, "cluster": {"server": f"https://127.0.0.1:{1 + i}"}} for i, c in enumerate(contexts)],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": c, "context": {"cluster": c, "user": "u"}} for c in contexts],
    }))
    return path


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_missing_kubeconfig_file_is_named(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "kubeconfig"
    assert cli.main([command, str(SAMPLE_REPO), "--kubeconfig", str(missing)]) == cli.EXIT_ERROR
    out = capsys.readouterr().out
    assert f"cluster gpu: kubeconfig {missing} does not exist; pass --kubeconfig FILE of a file that exists" in out
    assert "Invalid kube-config" not in out


def test_a_missing_default_kubeconfig_says_how_to_name_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    assert cli.main(["plan", str(SAMPLE_REPO), "--cluster", "shared"]) == cli.EXIT_ERROR
    assert "pass --kubeconfig FILE or set KUBECONFIG" in capsys.readouterr().out


def test_an_unknown_context_lists_the_contexts_and_the_cluster_file(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", ["kind-dev", "prod-admin"])
    assert cli.main(["plan", str(SAMPLE_REPO), "--kubeconfig", str(kubeconfig), "--cluster", "gpu"]) == 1
    out = capsys.readouterr().out
    assert ("cluster gpu: context 'gpu' (named by clusters/gpu.yaml:8: spec.connection.context) is not in kubeconfig "
            f"{kubeconfig}; it has: kind-dev, prod-admin. Fix the Cluster's context, or pass --context gpu=CONTEXT"
            ) in out
    assert "Expected object with name" not in out


def test_an_overriding_context_that_is_missing_is_reported_too(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", ["shared"])
    assert cli.main(["plan", str(SAMPLE_REPO), "--kubeconfig", str(kubeconfig), "--cluster", "shared",
                     "--context", "shared=admin@shared"]) == 1
    assert "context 'admin@shared' (given with --context) is not in kubeconfig" in capsys.readouterr().out


def test_unreachable_clusters_are_said_so_and_the_summary_does_not_read_as_nothing_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", ["gpu", "shared"])  # ports 1 and 2: nothing listens
    assert cli.main(["plan", str(SAMPLE_REPO), "--kubeconfig", str(kubeconfig)]) == cli.EXIT_ERROR
    out = capsys.readouterr().out
    assert "cannot reach https://127.0.0.1:1: Connection refused; check that the cluster is up" in out
    assert out.endswith("Plan: 2 of 2 cluster(s) failed (gpu, shared), see the errors above; nothing is known of "
                        "their changes.\n")
    assert "0 to create" not in out


def test_the_apply_summary_names_the_clusters_that_failed(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    kubeconfig = _kubeconfig(tmp_path / "kubeconfig", ["shared"])
    assert cli.main(["apply", str(SAMPLE_REPO), "--kubeconfig", str(kubeconfig)]) == cli.EXIT_ERROR
    out = capsys.readouterr().out
    assert "Applied: 2 of 2 cluster(s) failed (gpu, shared)" in out
