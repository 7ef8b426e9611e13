"""``dev`` and ``run`` take ``--context CLUSTER=CONTEXT`` as the other cluster commands do: with a kubeconfig whose
contexts are named otherwise than the Cluster documents say, they reach the real servers only through the override."""

from __future__ import annotations

import io
import logging
import uuid
from pathlib import Path

import pytest
import yaml

from reconciler.cli.devloop import DevLoop
from reconciler.controller.guardrails import StartGuardrails
from tests.integration.support import private_repo

OVERRIDES = ("gpu=admin@gpu", "shared=admin@shared")


@pytest.fixture
def renamed(kubeconfig: Path, tmp_path: Path) -> Path:
    """The test clusters' kubeconfig with every context renamed ``admin@NAME``."""
    config = yaml.safe_load(kubeconfig.read_text())
    for context in config["contexts"]:
        context["name"] = f"admin@{context['name']}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def _dev_once(repo: Path, kubeconfig: Path, overrides: tuple[str, ...]) -> str:
    out = io.StringIO()
    assert DevLoop(repo, apply=False, kubeconfig=kubeconfig, cluster=None, out=out,
                   context_overrides=overrides).once()
    return out.getvalue()


def test_dev_plans_every_cluster_through_its_overriding_context(renamed: Path, tmp_path: Path) -> None:
    repo = private_repo(tmp_path, f"d{uuid.uuid4().hex[:6]}")
    unreachable = _dev_once(repo, renamed, ())
    assert "context 'gpu' (named by clusters/gpu.yaml:8" in unreachable
    planned = _dev_once(repo, renamed, OVERRIDES)
    assert "context 'gpu'" not in planned and "context 'shared'" not in planned
    assert "cluster gpu\n" in planned and "cluster shared\n" in planned


def test_run_reads_each_clusters_guardrails_through_its_overriding_context(
        renamed: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    repo = private_repo(tmp_path, f"r{uuid.uuid4().hex[:6]}")
    with caplog.at_level(logging.WARNING, logger="reconciler.guardrails"):
        StartGuardrails(None, renamed, None).load(repo)
    assert "cannot read a cluster's guardrails" in caplog.text
    caplog.clear()
    start = StartGuardrails(None, renamed, None, OVERRIDES)
    with caplog.at_level(logging.WARNING, logger="reconciler.guardrails"):
        landscape = start.load(repo)
    assert "cannot read a cluster's guardrails" not in caplog.text
    assert start.installed is not None
    assert {t.cluster.connection.context for t in landscape.targets} == {"admin@gpu", "admin@shared"}
