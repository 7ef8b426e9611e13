"""kubectl's spellings work: --dry-run[=server], durations, --context CLUSTER=CONTEXT; the old ones still do."""

from __future__ import annotations

import argparse

import pytest

from reconciler import config
from reconciler.cli import flags as cli_flags
from reconciler.cli import main as cli
from reconciler.config import contexts
from reconciler.errors import ReconcilerError
from tests.unit.conftest import SAMPLE_REPO


def _parsed(argv: list[str]) -> argparse.Namespace:
    return cli._build_parser().parse_args(cli_flags.normalise_argv(argv))


@pytest.mark.parametrize(("argv", "mode"), [
    (["apply", "--dry-run", "repo"], "server"),
    (["apply", "repo", "--dry-run"], "server"),
    (["apply", "repo", "--dry-run=server"], "server"),
    (["apply", "repo", "--dry-run=none"], "none"),
    (["apply", "repo"], "none"),
])
def test_dry_run_takes_kubectls_values_and_alone_means_server(argv: list[str], mode: str) -> None:
    args = _parsed(argv)
    assert args.dry_run == mode and str(args.repo) == "repo"


def test_dry_run_client_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["apply", str(SAMPLE_REPO), "--dry-run=client"])
    assert exited.value.code == cli.EXIT_USAGE
    assert "invalid choice: 'client'" in capsys.readouterr().err


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("45", 45.0)])
def test_wait_takes_durations_and_bare_seconds(value: str, seconds: float) -> None:
    assert _parsed(["apply", "repo", "--wait", value]).wait == seconds


@pytest.mark.parametrize("command", ["plan", "apply", "access", "render"])
def test_every_cluster_command_takes_context_overrides(command: str) -> None:
    args = _parsed([command, "repo", "--context", "gpu=admin@gpu", "--context", "shared=ops"])
    assert args.context == ["gpu=admin@gpu", "shared=ops"]


@pytest.mark.parametrize("argv", [["run", "--repo", "file:///srv/envs.git"], ["dev", "repo"]])
def test_the_long_running_commands_take_context_overrides(argv: list[str]) -> None:
    assert _parsed([*argv, "--context", "gpu=admin@gpu", "--context", "shared=ops"]).context == [
        "gpu=admin@gpu", "shared=ops"]


def test_an_overridden_landscape_connects_its_clusters_and_targets_through_the_given_context() -> None:
    landscape = contexts.overridden(config.load_landscape(SAMPLE_REPO), ["admin@gpu"], "gpu")
    assert landscape.clusters["gpu"].connection.context == "admin@gpu"
    assert {t.cluster.connection.context for t in landscape.targets if t.cluster.name == "gpu"} == {"admin@gpu"}
    assert {t.cluster.connection.context for t in landscape.targets if t.cluster.name == "shared"} == {"shared"}
    with pytest.raises(ReconcilerError, match="no cluster 'gpuu' in the repository; known: gpu, shared"):
        contexts.overridden(landscape, ["gpuu=x"], None)


def test_diff_takes_context_overrides() -> None:
    assert _parsed(["diff", "--base", "main", "--context", "gpu=x"]).context == ["gpu=x"]


def test_a_context_override_replaces_only_its_clusters_context() -> None:
    landscape = config.load_landscape(SAMPLE_REPO)
    overrides = contexts.context_overrides(["gpu=admin@gpu"], None, landscape.clusters)
    clusters = contexts.with_contexts(landscape.clusters, overrides)
    assert clusters["gpu"].connection.context == "admin@gpu"
    assert clusters["shared"].connection.context == "shared"
    assert contexts.context_overrides(["admin@gpu"], "gpu", landscape.clusters) == {"gpu": "admin@gpu"}


@pytest.mark.parametrize(("given", "selected", "message"), [
    (["gpuu=x"], None, "no cluster 'gpuu' in the repository; known: gpu, shared"),
    (["x"], None, "say which cluster it is for, as --context CLUSTER=x"),
    (["gpu="], None, "the context name is empty"),
])
def test_a_wrong_context_override_says_what_to_write(given: list[str], selected: str | None, message: str) -> None:
    landscape = config.load_landscape(SAMPLE_REPO)
    with pytest.raises(ReconcilerError, match=message):
        contexts.context_overrides(given, selected, landscape.clusters)
