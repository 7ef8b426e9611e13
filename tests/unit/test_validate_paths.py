"""`validate PATH...` checks the repository the named files belong to; `.reconcilerignore` leaves other manifests
out of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler import config
from reconciler.cli import main as cli
from tests.unit.conftest import SAMPLE_REPO

FOREIGN = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n"


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A git work tree that holds the environments repository and other Kubernetes manifests."""
    top = tmp_path / "platform"
    shutil.copytree(SAMPLE_REPO, top)
    (top / ".git").mkdir()
    (top / "manifests").mkdir()
    (top / "manifests" / "web.yaml").write_text(FOREIGN)
    (top / "environments" / "web.tmpl.yaml").write_text(FOREIGN)
    return top


def test_without_an_ignore_file_other_manifests_are_errors(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(mixed)]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "manifests/web.yaml:2: kind: unknown kind 'Deployment'" in err
    assert "environments/web.tmpl.yaml:2: kind: unknown kind 'Deployment'" in err


def test_reconcilerignore_excludes_folders_and_patterns_for_every_command(mixed: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (mixed / ".reconcilerignore").write_text("# not environment documents\nmanifests/\n*.tmpl.yaml\n")
    assert cli.main(["validate", str(mixed)]) == 0
    assert "valid:" in capsys.readouterr().out
    assert cli.main(["render", str(mixed), "--env", "dev"]) == 0
    assert config.load_landscape(mixed).files == config.load_landscape(SAMPLE_REPO).files


def test_a_negated_pattern_brings_a_file_back(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (mixed / ".reconcilerignore").write_text("manifests/\n*.tmpl.yaml\n!environments/web.tmpl.yaml\n")
    assert cli.main(["validate", str(mixed)]) == cli.EXIT_ERROR
    assert "environments/web.tmpl.yaml:2: kind: unknown kind" in capsys.readouterr().err


def test_files_a_hook_passes_are_checked_with_their_repository(mixed: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    (mixed / ".reconcilerignore").write_text("manifests/\n*.tmpl.yaml\n")
    prod = mixed / "environments" / "prod.yaml"
    assert cli.main(["validate", str(prod), str(mixed / "teams")]) == 0
    assert capsys.readouterr().out.startswith(f"{mixed.resolve()}: valid:")
    # a team renamed in one file breaks the environment that names it in another: the whole repository is checked
    teams = mixed / "teams" / "teams.yaml"
    teams.write_text(teams.read_text().replace("name: vision", "name: visionaries"))
    assert cli.main(["validate", str(teams)]) == cli.EXIT_ERROR
    assert "team 'vision'" in capsys.readouterr().err


def test_without_an_ignore_file_the_git_top_is_the_repository(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(mixed / "environments" / "prod.yaml")]) == cli.EXIT_ERROR
    assert "manifests/web.yaml:2" in capsys.readouterr().err
    assert cli.main(["validate", "--repo", str(SAMPLE_REPO), str(SAMPLE_REPO / "environments" / "prod.yaml")]) == 0


def test_a_named_file_that_is_ignored_is_said_so(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (mixed / ".reconcilerignore").write_text("manifests/\n*.tmpl.yaml\n")
    assert cli.main(["validate", str(mixed / "manifests" / "web.yaml"), str(mixed / "environments")]) == 0
    assert f"{mixed / 'manifests' / 'web.yaml'}: not checked, " in capsys.readouterr().err


def test_a_missing_named_file_is_an_error(mixed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(mixed / "teams" / "teams.yaml"), str(mixed / "nope.yaml")]) == cli.EXIT_ERROR
    assert f"{mixed / 'nope.yaml'}: no such file or folder" in capsys.readouterr().err
