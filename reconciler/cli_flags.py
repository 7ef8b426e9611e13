"""kubectl-style flags shared by the commands: durations, ``--dry-run[=server]``, ``--context NAME=CONTEXT``."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence

from reconciler import config
from reconciler.config.model import Cluster
from reconciler.durations import parse_duration
from reconciler.errors import ReconcilerError

DRY_RUN_MODES = ("none", "server")


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


def add_context(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context", action="append", default=[], metavar="[CLUSTER=]CONTEXT",
                        help="use this kubeconfig context for a cluster instead of the one its Cluster document "
                        "names, e.g. --context gpu=admin@gpu (repeatable; a bare CONTEXT needs --cluster)")


def context_overrides(given: Sequence[str], selected: str | None, known: Mapping[str, Cluster]) -> dict[str, str]:
    """``--context`` values as cluster name -> context; an unknown cluster name is an error that lists the known."""
    overrides: dict[str, str] = {}
    for item in given:
        name, sep, context = item.partition("=")
        if not sep:
            if selected is None:
                raise ReconcilerError(f"--context {item}: say which cluster it is for, as --context CLUSTER={item} "
                                      f"(clusters: {', '.join(sorted(known))}), or select one with --cluster")
            name, context = selected, item
        if name not in known:
            raise ReconcilerError(f"--context {item}: no cluster {name!r} in the repository; known: "
                                  f"{', '.join(sorted(known))}")
        if not context:
            raise ReconcilerError(f"--context {item}: the context name is empty; write --context {name}=CONTEXT")
        overrides[name] = context
    return overrides


def with_contexts(clusters: Mapping[str, Cluster], overrides: Mapping[str, str]) -> dict[str, Cluster]:
    """The clusters, each connecting through its overriding context where one was given."""
    return {
        name: dataclasses.replace(cluster, connection=dataclasses.replace(
            cluster.connection, context=overrides[name], in_cluster=False, kubeconfig_secret=None,
            context_location=None))
        if name in overrides else cluster
        for name, cluster in clusters.items()
    }


def check_filters(landscape: config.Landscape, cluster: str | None, environment: str | None) -> None:
    if cluster is not None and cluster not in landscape.clusters:
        raise ReconcilerError(f"--cluster {cluster}: no such cluster; known: {', '.join(sorted(landscape.clusters))}")
    if environment is not None and environment not in landscape.environments:
        known = ", ".join(sorted(landscape.environments))
        raise ReconcilerError(f"--env {environment}: no such environment; known: {known}")
