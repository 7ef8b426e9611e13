"""A typo in a field or a kind is answered with the name the schema knows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from tests.unit.conftest import SAMPLE_REPO


def _validate_with(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    (repo / "typo.yaml").write_text(text)
    assert cli.main(["validate", str(repo)]) == cli.EXIT_ERROR
    return capsys.readouterr().err


@pytest.mark.parametrize(("text", "expected"), [
    ("apiVersion: reconciler.dev/v1alpha1\nkind: Enviroment\nmetadata: {name: x}\nspec: {}\n",
     "typo.yaml:2: kind: unknown kind 'Enviroment' (did you mean 'Environment'?)"),
    ("apiVersion: reconciler.dev/v1alpha1\nkind: team\nmetadata: {name: x}\nspec: {}\n",
     "(did you mean 'Team'?)"),
    ("apiVersion: reconciler.dev/v1alpha1\nkind: Profile\nmetadata: {name: x}\nspec:\n  quta: {cpu: '1'}\n",
     "typo.yaml:5: spec.quta: unknown field (did you mean 'quota'?)"),
    ("apiVersion: reconciler.dev/v1alpha1\nkind: Profile\nmetadata: {name: x}\nspec:\n  quota: {gpus: 1}\n",
     "spec.quota.gpus: unknown field (did you mean 'gpu'?)"),
    ("apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: x}\nspec:\n  user: [a@example.com]\n",
     "spec.user: unknown field (did you mean 'users'?)"),
])
def test_a_typo_gets_the_closest_known_name(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                            expected: str) -> None:
    assert expected in _validate_with(tmp_path, text, capsys)


def test_a_name_far_from_every_known_one_gets_no_guess(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _validate_with(tmp_path, "apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: x}\n"
                         "spec:\n  members: [a@example.com]\n", capsys)
    assert "spec.members: unknown field;" in err and "did you mean" not in err
