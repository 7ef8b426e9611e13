"""``--guardrails FILE`` for the commands that reach no cluster: the file is the installation's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli import main as cli
from tests.unit.conftest import Repo


def guardrails_file(tmp_path: Path, roles: str) -> Path:
    path = tmp_path / "guardrails.yaml"
    path.write_text(f"apiVersion: v1\nkind: ConfigMap\ndata:\n  allowedClusterRoles: {roles}\n")
    return path


@pytest.mark.parametrize("command", ["validate", "render"])
def test_a_narrower_guardrails_file_refuses_the_repository_with_path_and_line(
        sample_copy: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str) -> None:
    narrow = guardrails_file(tmp_path, "view edit")
    assert cli.main([command, str(sample_copy.root), "--guardrails", str(narrow)]) == 1
    assert ("platform.yaml:8: spec.allowedClusterRoles[2]: ClusterRole 'admin' is not allowed by the installation's "
            f"guardrails ({narrow}: edit, view)") in capsys.readouterr().err


def test_a_wider_guardrails_file_lets_the_repository_use_what_it_allows(
        sample_copy: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample_copy.write("platform.yaml", (sample_copy.root / "platform.yaml").read_text().replace(
        "[view, edit, admin]", "[view, edit, admin, ml-runner]"))
    assert cli.main(["validate", str(sample_copy.root)]) == 1, "beyond the built-in defaults"
    wide = guardrails_file(tmp_path, "view edit admin ml-runner")
    assert cli.main(["validate", str(sample_copy.root), "--guardrails", str(wide)]) == 0


def test_an_unreadable_guardrails_file_is_an_error_that_names_it(
        sample_copy: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert cli.main(["validate", str(sample_copy.root), "--guardrails", str(missing)]) == 1
    assert f"error: {missing}: cannot read the guardrails" in capsys.readouterr().err
