"""Schema results are kept by document content: an unchanged document is not validated again, a changed one is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.config import load_landscape, schema, validated
from reconciler.config.load import load_repository
from reconciler.errors import InvalidRepository

SAMPLE = Path(__file__).resolve().parents[3] / "sample-repo"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the documents validated, in order."""
    seen: list[str] = []
    real = schema.validate_document

    def counting(document: schema.Document) -> list[schema.ConfigError]:
        seen.append(f"{document.location.path}:{document.name}")
        return real(document)

    monkeypatch.setattr(validated, "validate_document", counting)
    for _ in range(2):  # forget what earlier tests validated
        validated.RESULTS.new_generation()
    return seen


def test_a_second_revision_validates_only_the_document_it_changed(tmp_path: Path, counted: list[str]) -> None:
    repo = shutil.copytree(SAMPLE, tmp_path / "repo")
    load_landscape(repo)
    everything = len(counted)
    counted.clear()
    prod = repo / "environments" / "prod.yaml"
    prod.write_text(prod.read_text() + "\n# the on-call rota lives in the wiki\n")
    load_landscape(repo)
    assert counted == ["environments/prod.yaml:prod"] and everything > 5


def test_an_error_is_reported_again_with_its_line_when_the_document_is_unchanged(tmp_path: Path,
                                                                                 counted: list[str]) -> None:
    repo = shutil.copytree(SAMPLE, tmp_path / "repo")
    dev = repo / "environments" / "dev.yaml"
    dev.write_text(dev.read_text().replace("spec:", "spec:\n  protectd: true", 1))
    reports = []
    for _ in range(2):
        with pytest.raises(InvalidRepository) as invalid:
            load_landscape(repo)
        reports.append([str(error) for error in invalid.value.errors])
    assert reports[0] == reports[1] and any("protectd" in line and "dev.yaml:" in line for line in reports[0])
    assert counted.count("environments/dev.yaml:dev") == 1


def test_the_same_text_moved_to_other_lines_is_validated_again(tmp_path: Path, counted: list[str]) -> None:
    """Errors carry lines, so a document whose lines moved is not the same document."""
    repo = shutil.copytree(SAMPLE, tmp_path / "repo")
    load_landscape(repo)
    counted.clear()
    dev = repo / "environments" / "dev.yaml"
    dev.write_text("# moved down by a line\n" + dev.read_text())
    load_landscape(repo)
    assert counted == ["environments/dev.yaml:dev"]


def test_results_older_than_the_last_two_landscapes_are_forgotten(tmp_path: Path, counted: list[str]) -> None:
    repo = shutil.copytree(SAMPLE, tmp_path / "repo")
    dev = repo / "environments" / "dev.yaml"
    original = dev.read_text()
    documents = len(load_repository(repo).documents)
    sizes = []
    for revision in range(6):
        dev.write_text(original + f"\n# revision {revision}\n")
        load_landscape(repo)
        sizes.append(len(validated.RESULTS))
    assert sizes == [documents] + [documents + 1] * 5  # this revision's documents and the one before's dev.yaml
