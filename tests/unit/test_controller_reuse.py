"""What a cluster's worker converges again: at a new revision only the targets it changes, after drift only the
drifted target, and everything whenever what it remembers cannot be trusted (a failure, a change that belongs to
no target, a resync, a Kueue Platform)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reconciler.config import Landscape
from reconciler.controller.reuse import Reuse, Scope
from reconciler.controller.status_model import SyncOutcome, TargetStatus
from tests.unit.edits import repository, write


def _converged(reuse: Reuse, landscape: Landscape, scope: Scope, state: str = "converged") -> None:
    rows = {t.namespace: TargetStatus(t.environment.name, state="converged") for t in scope.targets}
    reuse.converged(landscape, SyncOutcome(state, "r", 0.0, targets=rows), scope)


def _east(landscape: Landscape) -> tuple[Reuse, Landscape]:
    reuse = Reuse("east")
    first = reuse.scope(landscape, landscape.select(cluster="east"), full=False)
    assert len(first.targets) == 6 and first.namespaces is None  # nothing known yet: everything
    _converged(reuse, landscape, first)
    return reuse, landscape


def _one_change(tmp_path: Path) -> tuple[Landscape, Landscape]:
    state = repository()
    before = write(tmp_path, state)
    state["environments/env-04.yaml"]["gpu"] = 3
    return before, write(tmp_path, state)


def test_a_new_revision_converges_only_the_target_it_changes(tmp_path: Path) -> None:
    before, after = _one_change(tmp_path)
    reuse, _ = _east(before)
    scope = reuse.scope(after, after.select(cluster="east"), full=False)
    assert [t.namespace for t in scope.targets] == ["ns-04"]
    assert sorted(scope.kept) == ["ns-00", "ns-02", "ns-06", "ns-08", "ns-10"]
    assert scope.namespaces == frozenset({"ns-04"})


def test_drift_in_a_target_converges_that_target_alone(tmp_path: Path) -> None:
    before, _ = _one_change(tmp_path)
    reuse, _ = _east(before)
    reuse.live_changed("ns-02")
    scope = reuse.scope(before, before.select(cluster="east"), full=False)
    assert [t.namespace for t in scope.targets] == ["ns-02"]


def test_a_change_during_a_converge_is_converged_next_time(tmp_path: Path) -> None:
    before, after = _one_change(tmp_path)
    reuse, _ = _east(before)
    scope = reuse.scope(after, after.select(cluster="east"), full=False)
    reuse.live_changed("ns-08")  # after the converge read the cluster
    _converged(reuse, after, scope)
    assert [t.namespace for t in reuse.scope(after, after.select(cluster="east"), full=False).targets] == ["ns-08"]


def test_what_cannot_be_trusted_converges_everything(tmp_path: Path) -> None:
    before, after = _one_change(tmp_path)
    targets = after.select(cluster="east")
    for spoil in ("failed", "unplaced", "unplaced-meanwhile", "outside-targets", "resync", "forget", "kueue"):
        reuse, _ = _east(before)
        landscape = after
        if spoil == "failed":
            _converged(reuse, after, reuse.scope(after, targets, full=False), state="failed")
        elif spoil == "unplaced":
            reuse.live_changed(None)
        elif spoil == "unplaced-meanwhile":
            scope = reuse.scope(after, targets, full=False)
            reuse.live_changed(None)
            _converged(reuse, after, scope)
        elif spoil == "outside-targets":
            reuse.live_changed("reconciler-system")  # an inventory
        elif spoil == "forget":
            reuse.forget()
        elif spoil == "kueue":
            landscape = replace(after, platform=replace(after.platform, quota_enforcement="Kueue"))
        scope = reuse.scope(landscape, targets, full=spoil == "resync")
        assert (len(scope.targets), scope.kept, scope.namespaces) == (6, (), None), spoil


def test_a_target_that_did_not_end_converged_is_converged_again(tmp_path: Path) -> None:
    before, after = _one_change(tmp_path)
    reuse = Reuse("east")
    scope = reuse.scope(before, before.select(cluster="east"), full=False)
    rows = {t.namespace: TargetStatus(t.environment.name, state="conflict" if t.namespace == "ns-06" else "converged")
            for t in scope.targets}
    reuse.converged(before, SyncOutcome("converged", "r", 0.0, targets=rows), scope)
    assert [t.namespace for t in reuse.scope(after, after.select(cluster="east"), full=False).targets] == [
        "ns-04", "ns-06"]


def test_a_removed_environment_is_read_for_its_removal(tmp_path: Path) -> None:
    state = repository()
    before = write(tmp_path, state)
    del state["environments/env-02.yaml"]
    after = write(tmp_path, state)
    reuse, _ = _east(before)
    scope = reuse.scope(after, after.select(cluster="east"), full=False)
    assert scope.targets == () and scope.removed == frozenset({"ns-02"})
    assert scope.namespaces == frozenset({"ns-02"})
