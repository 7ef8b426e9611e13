"""``reconciler validate`` on a broken copy of the sample repository: every error as path:line, exit 1, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main as cli
from tests.unit.broken_sample import break_sample
from tests.unit.conftest import SAMPLE_REPO, Repo


def test_a_broken_copy_reports_every_error_and_exits_1(sample_copy: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    expected = break_sample(sample_copy.root)
    assert cli.main(["validate", str(sample_copy.root)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [*expected, f"{sample_copy.root}: 6 error(s); nothing was rendered or applied"]


def test_the_sample_repository_is_valid_with_a_one_line_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(SAMPLE_REPO)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [f"{SAMPLE_REPO}: valid: 2 cluster(s), 3 team(s), 1 profile(s), "
                                         "3 environment(s), 3 target(s) in 8 file(s)"]


def test_render_refuses_an_invalid_repository_and_writes_nothing(sample_copy: Repo, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    break_sample(sample_copy.root)
    out = tmp_path / "out"
    assert cli.main(["render", str(sample_copy.root), "--out", str(out)]) == 1
    assert not out.exists()
    assert "6 error(s)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "files",
    [
        {"empty.yaml": b""},
        {"list.yaml": b"- a\n- b\n"},
        {"null-spec.yaml": b"apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: x}\nspec: null\n"},
        {"number-name.yaml": b"apiVersion: reconciler.dev/v1alpha1\nkind: Team\nmetadata: {name: 7}\nspec: {}\n"},
        {"latin1.yaml": b"kind: Team\nmetadata: {name: caf\xe9}\n"},
        {"no-kind.yaml": b"apiVersion: reconciler.dev/v1alpha1\nmetadata: {name: x}\n"},
        {"tabs.yaml": b"spec:\n\tusers: []\n"},
        {"binary.yaml": bytes(range(256))},
        {"nulls.yaml": b"apiVersion: ~\nkind: ~\nmetadata: ~\nspec: ~\n"},
        {"environment.yaml": b"apiVersion: reconciler.dev/v1alpha1\nkind: Environment\nmetadata: {name: e}\n"
                             b"spec: {targets: [~], extends: [~], access: [~], agent: {queues: [~]}}\n"},
        {"profile.yaml": b"apiVersion: reconciler.dev/v1alpha1\nkind: Profile\nmetadata: {name: p}\n"
                         b"spec: {limits: {max: ~}, quota: {objects: ~}, labels: ~}\n"},
    ],
)
def test_odd_input_gives_errors_with_locations_never_a_traceback(
        empty_repo: Repo, capsys: pytest.CaptureFixture[str], files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (empty_repo.root / name).write_bytes(data)
    code = cli.main(["validate", str(empty_repo.root)])
    err = capsys.readouterr().err
    if code == 0:
        assert err == ""
        return
    for line in err.splitlines()[:-1]:
        path, line_number, _ = line.split(":", 2)
        assert path in files
        assert int(line_number) >= 1


def test_a_missing_repository_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["validate", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'nowhere'}: no such directory")


def test_a_folder_without_documents_is_an_error(empty_repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    empty_repo.write("README.yaml", "# nothing yet\n")
    assert cli.main(["validate", str(empty_repo.root)]) == 1
    assert capsys.readouterr().err == (f"error: {empty_repo.root}: no documents in *.yaml or *.yml files; pass the "
                                       "path of an environments repository (such as sample-repo)\n")
