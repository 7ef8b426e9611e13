"""A new revision re-renders only the targets whose inputs changed, and reusing the others' objects gives exactly
what rendering everything again gives: checked over a sequence of random edits, and edit by edit for the shared
documents (a profile, a team, the Platform) that reach several targets."""

from __future__ import annotations

import random
from pathlib import Path

from reconciler.config import Landscape
from reconciler.plan import incremental
from reconciler.render import render_landscape, render_target
from reconciler.render.objects import Manifest
from tests.unit.edits import CLUSTERS, edit, repository, write


def _incremental(before: Landscape, rendered: dict[str, list[Manifest]], after: Landscape) -> dict[str, list[Manifest]]:
    changed = {t.key for t in incremental.changed_targets(before, after, after.targets)}
    return {t.key: render_target(t, after) if t.key in changed else rendered[t.key] for t in after.targets}


def test_reusing_unchanged_targets_renders_what_a_full_render_does_over_random_edits(tmp_path: Path) -> None:
    rng = random.Random(13)
    state = repository()
    before = write(tmp_path, state)
    rendered = render_landscape(before)
    reused = 0
    for _ in range(60):
        edit(state, rng)
        after = write(tmp_path, state)
        kept = _incremental(before, rendered, after)
        assert kept == render_landscape(after)
        reused += len(after.targets) - len(incremental.changed_targets(before, after, after.targets))
        before, rendered = after, kept
    assert reused > 0  # the edits did leave targets to reuse


def _changed_by(tmp_path: Path, edit: str, path: str, value: object) -> tuple[set[str], set[str]]:
    """(the targets said changed, the targets whose objects really differ) after one edit."""
    state = repository()
    before = write(tmp_path, state)
    state[path][edit] = value
    after = write(tmp_path, state)
    said = {t.key for t in incremental.changed_targets(before, after, after.targets)}
    old = render_landscape(before)
    differ = {key for key, objects in render_landscape(after).items() if old.get(key) != objects}
    return said, differ


def test_a_one_line_environment_change_re_renders_only_that_target(tmp_path: Path) -> None:
    said, differ = _changed_by(tmp_path, "gpu", "environments/env-04.yaml", 3)
    assert said == differ == {"east/ns-04"}


def test_a_profile_change_re_renders_exactly_the_environments_that_extend_it(tmp_path: Path) -> None:
    said, differ = _changed_by(tmp_path, "cpu", "profiles/large.yaml", 99)
    assert said == differ == {f"{CLUSTERS[i % 2]}/ns-{i:02d}" for i in range(1, 12, 2)}


def test_a_team_change_re_renders_exactly_the_targets_that_bind_it(tmp_path: Path) -> None:
    said, differ = _changed_by(tmp_path, "version", "teams/nlp.yaml", 2)
    assert said == differ == {f"{CLUSTERS[i % 2]}/ns-{i:02d}" for i in range(1, 12, 3)}


def test_a_cluster_change_re_renders_exactly_its_targets(tmp_path: Path) -> None:
    said, differ = _changed_by(tmp_path, "pool", "platform.yaml", "cpus")
    assert said == differ == {f"east/ns-{i:02d}" for i in range(0, 12, 2)}


def test_a_platform_change_re_renders_every_target(tmp_path: Path) -> None:
    said, differ = _changed_by(tmp_path, "control", "platform.yaml", "control")
    assert said == differ == {f"{CLUSTERS[i % 2]}/ns-{i:02d}" for i in range(12)}
