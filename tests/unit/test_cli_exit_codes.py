"""A usage error has its own exit code, so CI never reads a mistyped flag as "changes pending" or "blocked"."""

from __future__ import annotations

import pytest

from reconciler.cli import main as cli
from tests.unit.conftest import SAMPLE_REPO


@pytest.mark.parametrize("argv", [
    ["plan", str(SAMPLE_REPO), "--kubeconfg", "x"],
    ["apply", str(SAMPLE_REPO), "--wait", "soon"],
    ["diff", str(SAMPLE_REPO)],
    ["validate", str(SAMPLE_REPO), "--strict"],
    ["render", str(SAMPLE_REPO), "-o", "toml"],
    ["run", "--repo", "x", "--interval", "often"],
    ["plna"],
    [],
])
def test_a_usage_error_exits_64(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == cli.EXIT_USAGE == 64
    assert exited.value.code not in (cli.EXIT_PENDING, 3)
    assert "error:" in capsys.readouterr().err


def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for documented in ("1 invalid repository", "2 plan: changes are pending", "3 diff: a risk finding blocks",
                       "64 usage error"):
        assert documented in out
