"""`reconciler version` (also on /status and as a metric), shell completion that completes, examples in every help."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.controller import metrics
from reconciler.controller.status import Status

COMMANDS = ("validate", "render", "plan", "apply", "diff", "access", "run", "dev", "status", "version", "completion")


def test_version_and_dash_dash_version_print_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    installed = metadata.version("reconciler")
    assert cli.main(["version"]) == 0
    assert capsys.readouterr().out.startswith(f"reconciler {installed} ")
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"reconciler {installed} ")


def test_the_controller_reports_its_version_on_status_and_as_a_metric() -> None:
    state = Status("https://git.example.com/ml/envs.git", "main", "", "replica-a", leader_elect=False)
    installed = metadata.version("reconciler")
    assert state.snapshot()["version"] == installed
    exported = metrics.exposition(metrics.registry(state.metrics, state.gauges))
    assert f'reconciler_build_info{{python="{platform.python_version()}",version="{installed}"}} 1.0' in exported


def _bash_complete(script: Path, words: list[str]) -> list[str]:
    line = " ".join(words)
    program = (f"source {script}; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _reconciler; "
               'printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_completes_commands_and_each_commands_flags(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", "bash"]) == 0
    script = tmp_path / "reconciler.bash"
    script.write_text(capsys.readouterr().out)
    assert _bash_complete(script, ["reconciler", "ve"]) == ["version"]
    assert _bash_complete(script, ["reconciler", "apply", "--dry"]) == ["--dry-run"]
    assert _bash_complete(script, ["reconciler", "apply", "--con"]) == ["--context"]
    assert _bash_complete(script, ["reconciler", "render", "--sp"]) == ["--split"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for command in COMMANDS:
        assert command in script
    assert "dry-run" in script


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = capsys.readouterr().out
    assert "examples:\n  reconciler " in out
