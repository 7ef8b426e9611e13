"""kubectl takes what render prints, cluster by cluster, and the kubectl-style flags reach the real servers."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from reconciler.cli import main as cli
from tests.integration.support import private_repo, run_cli

CLUSTERS = ("gpu", "shared")


def _kubectl(kubeconfig: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *argv], input=stdin, capture_output=True,
                          text=True, timeout=120)


def _rendered(repo: Path, cluster: str, capsys: pytest.CaptureFixture[str], form: str = "json") -> str:
    capsys.readouterr()
    assert cli.main(["render", str(repo), "--cluster", cluster, "-o", form]) == 0
    return capsys.readouterr().out


@pytest.fixture
def repo(tmp_path: Path, kubeconfig: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A private repository whose namespaces exist (a server dry run cannot create objects in a namespace that
    does not); they are deleted after the test with the repository's other namespaces."""
    repo = private_repo(tmp_path, f"k{uuid.uuid4().hex[:6]}")
    for cluster in CLUSTERS:
        listed = json.loads(_rendered(repo, cluster, capsys))
        namespaces = [o for o in listed["items"] if o["kind"] == "Namespace"]
        done = _kubectl(kubeconfig, "--context", cluster, "apply", "-f", "-",
                        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": namespaces}))
        assert done.returncode == 0, done.stderr
    return repo


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_kubectl_server_dry_run_accepts_each_clusters_render(repo: Path, kubeconfig: Path, form: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    for cluster in CLUSTERS:
        rendered = _rendered(repo, cluster, capsys, form)
        count = len((json.loads(rendered) if form == "json" else yaml.safe_load(rendered))["items"])
        done = _kubectl(kubeconfig, "--context", cluster, "apply", "--dry-run=server", "-f", "-", stdin=rendered)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.splitlines()) == count and "(server dry run)" in done.stdout


def test_the_commands_render_out_prints_apply_each_folder_to_its_cluster(repo: Path, kubeconfig: Path,
                                                                        tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rendered"
    capsys.readouterr()
    assert cli.main(["render", str(repo), "--out", str(out)]) == 0
    commands = [line.strip() for line in capsys.readouterr().out.splitlines() if line.strip().startswith("kubectl")]
    assert len(commands) == len(CLUSTERS)
    for command in commands:
        done = subprocess.run([*command.split(), "--dry-run=server"], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "KUBECONFIG": str(kubeconfig)})
        assert done.returncode == 0, done.stderr
        cluster = command.split()[2]
        namespaces = {line.split()[0] for line in done.stdout.splitlines()}
        assert namespaces, done.stdout
        assert done.stdout.count("(server dry run)") == len(done.stdout.splitlines())
        assert (out / cluster).is_dir()


def test_a_context_override_reaches_the_cluster_under_another_context_name(
        kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = private_repo(tmp_path, f"c{uuid.uuid4().hex[:6]}")  # namespaces kubectl did not make: ours to create
    config = yaml.safe_load(kubeconfig.read_text())
    for context in config["contexts"]:
        context["name"] = f"admin@{context['name']}"
    renamed = tmp_path / "kubeconfig"
    renamed.write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert run_cli("plan", repo, "--kubeconfig", renamed, "--cluster", "gpu") == cli.EXIT_ERROR
    assert "context 'gpu' (named by clusters/gpu.yaml:8" in capsys.readouterr().out
    assert run_cli("plan", repo, "--kubeconfig", renamed, "--context", "gpu=admin@gpu",
                   "--context", "shared=admin@shared") == cli.EXIT_PENDING
    assert run_cli("apply", repo, "--kubeconfig", renamed, "--cluster", "gpu", "--context", "admin@gpu",
                   "--dry-run=server") == 0
    assert "Dry run (nothing written)" in capsys.readouterr().out
