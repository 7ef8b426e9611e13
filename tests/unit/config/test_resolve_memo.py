"""A commit resolves again only the environments it touches: with the last resolve remembered, every revision of a
sequence of random edits resolves to exactly the landscape, or exactly the errors, of a resolve from nothing; and
an environment nothing changed for is the one resolved before, while one whose document, profile, team or cluster
changed is resolved again."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest

from reconciler import config
from reconciler.config.load import load_repository
from reconciler.config.model import Landscape
from reconciler.config.resolve_memo import ResolveMemo
from reconciler.errors import InvalidRepository
from tests.unit import edits

State = dict[str, dict[str, object]]


def _landscape(root: Path, memo: ResolveMemo | None) -> Landscape | list[str]:
    try:
        return config.landscape_from(load_repository(root), results=None, memo=memo)
    except InvalidRepository as invalid:
        return [str(error) for error in invalid.errors]


def _write(root: Path, state: State) -> None:
    with contextlib.suppress(InvalidRepository):  # an invalid revision, on purpose: what it resolves to is asked
        edits.write(root, state)


def _cross_environment_edit(state: State, rng: random.Random) -> None:
    """Edits whose error spans environments: a second document of an environment's name (and so of its
    namespace), or an environment given another's namespace."""
    environments = sorted(p for p in state if p.startswith("environments/"))
    one = state[rng.choice(environments)]
    if rng.random() < 0.5:
        state[f"environments/copy-{rng.randrange(99)}.yaml"] = dict(one)
    else:
        other = dict(state[rng.choice(environments)])
        other["i"] = one["i"]  # the same name, so the same namespace, in another file
        state[f"environments/moved-{rng.randrange(99)}.yaml"] = other


def test_a_remembered_resolve_gives_what_a_fresh_one_gives_over_random_edits(tmp_path: Path) -> None:
    rng = random.Random(13)
    state = edits.repository()
    memo = ResolveMemo()
    valid = invalid = 0
    last_valid = state
    for _ in range(150):
        _write(tmp_path, state)
        fresh = _landscape(tmp_path, None)
        assert _landscape(tmp_path, memo) == fresh
        if isinstance(fresh, Landscape):
            valid, last_valid = valid + 1, {path: dict(values) for path, values in state.items()}
        else:
            invalid += 1
            if rng.random() < 0.7:  # a broken revision is mostly followed by its fix
                state = {path: dict(values) for path, values in last_valid.items()}
                continue
        if rng.random() < 0.1:
            _cross_environment_edit(state, rng)
        else:
            edits.edit(state, rng)
    assert valid > 30 and invalid > 10  # both kinds of revision were resolved


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Path, State, ResolveMemo, Landscape]:
    state = edits.repository()
    edits.write(tmp_path, state)
    memo = ResolveMemo()
    first = _landscape(tmp_path, memo)
    assert isinstance(first, Landscape)
    return tmp_path, state, memo, first


def _resolved_again(root: Path, state: State, memo: ResolveMemo, before: Landscape) -> set[str]:
    _write(root, state)
    after = _landscape(root, memo)
    assert isinstance(after, Landscape)
    assert after == _landscape(root, None)
    return {name for name, environment in after.environments.items()
            if environment is not before.environments.get(name)}


def test_a_one_line_change_resolves_that_environment_alone(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["environments/env-04.yaml"]["gpu"] = 3
    assert _resolved_again(root, state, memo, before) == {"env-04"}


def test_a_profile_change_resolves_exactly_the_environments_that_extend_it(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["profiles/large.yaml"]["cpu"] = 64
    assert _resolved_again(root, state, memo, before) == {
        name for name, environment in before.environments.items() if environment.quota["requests.cpu"] == "16"}
    assert len(before.environments) == 12


def test_a_team_change_resolves_exactly_the_environments_that_bind_it(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["teams/nlp.yaml"]["version"] = 2
    assert _resolved_again(root, state, memo, before) == {
        name for name, environment in before.environments.items() if environment.access[0].name == "nlp"}


def test_a_cluster_change_resolves_exactly_the_environments_on_it(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["platform.yaml"]["pool"] = "cpu-pool"  # east's node pool selector, the east environments' agents
    assert _resolved_again(root, state, memo, before) == {
        name for name, environment in before.environments.items() if environment.targets[0][0] == "east"}


def test_a_platform_change_resolves_every_environment(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["platform.yaml"]["control"] = "control"
    assert _resolved_again(root, state, memo, before) == set(before.environments)


def test_an_invalid_revision_is_not_remembered_and_the_last_valid_one_stays(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, before = repository
    state["environments/env-04.yaml"]["profile"] = "missing"
    _write(root, state)
    assert isinstance(_landscape(root, memo), list)
    state["environments/env-04.yaml"]["profile"] = "small"
    state["environments/env-05.yaml"]["gpu"] = 2
    assert _resolved_again(root, state, memo, before) == {"env-05"}


def test_an_error_that_spans_environments_is_found_with_the_others_reused(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, state, memo, _ = repository
    state["environments/again.yaml"] = dict(state["environments/env-03.yaml"], profile="large")
    _write(root, state)
    errors = _landscape(root, memo)
    assert isinstance(errors, list) and errors == _landscape(root, None)
    assert any("duplicate Environment 'env-03'" in error for error in errors)


def test_a_team_given_a_foreign_service_account_is_refused_in_every_environment_that_binds_it_unchanged(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, _, memo, before = repository
    (root / "teams/ops.yaml").write_text(edits.TEAM.format(name="ops", version=1).replace(
        '["oidc:ops-1"]}', '["oidc:ops-1"], serviceAccounts: [{namespace: polyaxon, name: operator}]}'))
    errors = _landscape(root, memo)
    assert isinstance(errors, list) and errors == _landscape(root, None)
    binding = {name for name, environment in before.environments.items() if environment.access[0].name == "ops"}
    assert len([e for e in errors if "service account polyaxon/operator" in e]) == len(binding) == 4


def test_a_cluster_that_loses_a_node_pool_refuses_the_unchanged_agents_that_use_it(
        repository: tuple[Path, State, ResolveMemo, Landscape]) -> None:
    root, _, memo, _ = repository
    platform = root / "platform.yaml"
    platform.write_text(platform.read_text().replace("    cpu: {nodeSelector: {pool: cpu}}\n", "    gpu: {}\n", 1))
    errors = _landscape(root, memo)
    assert isinstance(errors, list) and errors == _landscape(root, None)
    assert any("node pool 'cpu' is not defined on cluster 'east'" in error for error in errors)
