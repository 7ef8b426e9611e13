"""A converge of the few targets a commit changes, through a watch cache scoped to their namespaces, plans and
writes exactly what a converge of every target does for them, and decodes nothing of the other targets."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reconciler.config import load_landscape
from reconciler.converge import engine as converge
from reconciler.converge.results import ClusterResult
from reconciler.kube.cache import CachedClient
from reconciler.plan import incremental
from reconciler.plan import inventory as inv

from .support import clients, edit, private_repo, run_cli

pytestmark = pytest.mark.integration


def _plans(result: ClusterResult) -> dict[str, list[tuple[str, str]]]:
    return {t.namespace: [(str(c.ref), c.action) for c in t.changes] for t in result.targets}


def test_a_scoped_converge_of_the_changed_targets_does_what_a_full_one_does_for_them(tmp_path: Path,
                                                                                      kubeconfig: Path) -> None:
    prefix = "s" + uuid.uuid4().hex[:6]
    repo = private_repo(tmp_path, prefix)
    assert run_cli("apply", str(repo), "--kubeconfig", str(kubeconfig)) == 0
    before = load_landscape(repo)
    edit(repo, "environments/staging.yaml", 'cpu: "32"', 'cpu: "24"')
    after = load_landscape(repo)
    name = "shared"
    targets = after.select(cluster=name)
    changed = incremental.changed_targets(before, after, targets)
    assert [t.environment.name for t in changed] == ["staging"] and len(targets) > 1
    namespaces = frozenset(t.namespace for t in changed)
    options = converge.ConvergeOptions(revision="test", applied_by="controller", dry_run=True)
    client = CachedClient(clients(repo, kubeconfig)[name])
    try:
        (full,) = converge.converge(after, {name: client}, options, targets, lambda _: None)
        scoped = client.scoped(namespaces)
        (few,) = converge.converge(after, {name: scoped}, options, changed, lambda _: None)
        assert _plans(few) == {ns: plan for ns, plan in _plans(full).items() if ns in namespaces}
        assert any(action == "update" for plan in _plans(few).values() for _, action in plan)
        listed = scoped.list("ConfigMap", "app.kubernetes.io/managed-by=reconciler")
        assert {obj["metadata"]["namespace"] for obj in listed} <= namespaces
        stored = scoped.list("ConfigMap", inv.selector(after.platform.name), namespace=inv.SYSTEM_NAMESPACE)
        assert {obj["metadata"]["name"] for obj in stored} == {inv.configmap_name(ns) for ns in namespaces}
    finally:
        client.close()
