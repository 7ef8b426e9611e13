"""Flags shared by the commands, kubectl-style: the repository, durations, ``--dry-run[=server]``,
``--context NAME=CONTEXT``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from reconciler.config.durations import parse_duration
from reconciler.errors import ReconcilerError

if TYPE_CHECKING:  # the model and kubeconfig contexts are imported by the commands that use them, not by --help
    from reconciler import config

DRY_RUN_MODES = ("none", "server")

# Where each command module registers its parser (argparse keeps the class of the subparsers private).
Commands: TypeAlias = "argparse._SubParsersAction[Any]"


def duration(text: str) -> float:
    """Seconds from ``30s``, ``2m``, ``1h30m``; a bare number still means seconds (as before)."""
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def normalise_argv(argv: Sequence[str]) -> list[str]:
    """A bare ``--dry-run`` keeps its old meaning, a server-side dry run, as ``--dry-run=server`` spells it.

    Rewritten before parsing so that ``apply --dry-run REPO`` does not read REPO as the mode."""
    return ["--dry-run=server" if item == "--dry-run" else item for item in argv]


def add_dry_run(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--dry-run", choices=DRY_RUN_MODES, default="none", metavar="none|server",
                        help=f"server: {what} as a server-side dry run, nothing is written (a bare --dry-run means "
                        "server; kubectl's client mode is not offered, the server's view is what matters)")


def add_repo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", nargs="?", default=".", type=Path,
                        help="path of the environments repository (default: the current directory)")


def add_context(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context", action="append", default=[], metavar="[CLUSTER=]CONTEXT",
                        help="use this kubeconfig context for a cluster instead of the one its Cluster document "
                        "names, e.g. --context gpu=admin@gpu (repeatable; a bare CONTEXT needs --cluster)")


def check_filters(landscape: config.Landscape, cluster: str | None, environment: str | None) -> None:
    """``--cluster`` and ``--env`` name a cluster and an environment of the repository, or the command stops."""
    from reconciler.config import contexts

    contexts.selected_clusters(landscape.clusters, cluster)
    if environment is not None and environment not in landscape.environments:
        known = ", ".join(sorted(landscape.environments))
        raise ReconcilerError(f"--env {environment}: no such environment; known: {known}")
