"""The schemas work as they are in editors and other validators: check-jsonschema (an independent implementation)
resolves their relative $refs, accepts the sample repository and catches what the reconciler refuses, in any
document of a multi-document file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.unit.conftest import SAMPLE_REPO

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CHECK = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))


def _split(repo: Path, out: Path) -> dict[str, list[Path]]:
    """Every document of every file on its own (check-jsonschema reads one document a file), by kind."""
    by_kind: dict[str, list[Path]] = {}
    for file in sorted(repo.rglob("*.yaml")):
        for number, document in enumerate(yaml.safe_load_all(file.read_text())):
            place = out / f"{file.relative_to(repo).as_posix().replace('/', '__')}.{number}.yaml"
            place.write_text(yaml.safe_dump(document))
            by_kind.setdefault(document["kind"], []).append(place)
    return by_kind


def _check(by_kind: dict[str, list[Path]]) -> tuple[int, str]:
    assert CHECK is not None, "check-jsonschema is a test dependency (pip install -e '.[dev]')"
    worst, output = 0, ""
    for kind, files in sorted(by_kind.items()):
        done = subprocess.run([CHECK, "--schemafile", str(SCHEMAS / f"{kind}.schema.json"), *map(str, files)],
                              capture_output=True, text=True)
        worst = max(worst, done.returncode)
        output += done.stdout + done.stderr
    return worst, output


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    (tmp_path / "docs").mkdir()
    return repo


def test_check_jsonschema_accepts_the_sample_repository(copy: Path, tmp_path: Path) -> None:
    status, output = _check(_split(copy, tmp_path / "docs"))
    assert status == 0, output


def test_a_typo_in_the_second_document_of_a_file_is_caught(copy: Path, tmp_path: Path) -> None:
    teams = copy / "teams" / "teams.yaml"
    documents = teams.read_text().split("\n---\n")
    documents[1] = documents[1].replace("users:", "usres:")
    teams.write_text("\n---\n".join(documents))
    status, output = _check(_split(copy, tmp_path / "docs"))
    assert status == 1
    assert "teams__teams.yaml.1.yaml" in output and "'usres' was unexpected" in output


@pytest.mark.parametrize(("old", "new", "reported"), [
    ("gpu: 8", "gpu: 0.5", "0.5 is not a multiple of 1"),
    ("gpu: 8", "memory: 256GB", "'256GB' does not match"),
    ("gpu: 8", "gpu: -1", "-1 is less than the minimum of 0"),
])
def test_formats_that_matter_are_checked_by_editors_too(copy: Path, tmp_path: Path, old: str, new: str,
                                                        reported: str) -> None:
    prod = copy / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace(old, new))
    status, output = _check(_split(copy, tmp_path / "docs"))
    assert status == 1 and reported in output, output
