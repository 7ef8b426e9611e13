"""What the commands that reach clusters (plan, apply) share: their flags, and the landscape with its clients.

The Kubernetes client is imported only when a command connects, so the offline commands never load it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import config
from reconciler.cli import flags as cli_flags
from reconciler.cli import guardrails as guardrails_cli

if TYPE_CHECKING:
    from reconciler.converge.engine import ClusterResult
    from reconciler.kube.client import ClusterClient
    from reconciler.kube.connect import ConnectOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli_flags.add_repo(parser)
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig with the clusters' contexts (default: $KUBECONFIG or ~/.kube/config)")
    cli_flags.add_context(parser)
    parser.add_argument("--cluster", help="only this cluster (needs no credentials for the others)")
    parser.add_argument("--env", help="only this environment (removed environments are then not considered)")
    parser.add_argument("--allow-mass-delete", action="store_true",
                        help="allow a plan that deletes more than the Platform's massDeletePercent of a target")
    guardrails_cli.add_argument(parser)


def connect_options(args: argparse.Namespace) -> ConnectOptions:
    """``--kubeconfig``, ``--context`` and ``--cluster`` as the one way of building clients takes them."""
    from reconciler.kube.connect import ConnectOptions

    return ConnectOptions(kubeconfig=args.kubeconfig, contexts=tuple(args.context),
                          cluster=args.cluster)


def connected(args: argparse.Namespace) -> tuple[config.Landscape, dict[str, ClusterClient], list[ClusterResult]]:
    """The landscape validated against the guardrails of the clusters it reaches, and their clients; a cluster
    that cannot be connected to or read fails alone, as a result of its own."""
    from reconciler.converge.engine import ClusterResult
    from reconciler.kube.connect import connect_landscape

    landscape = config.load_landscape(args.repo, guardrails_cli.offline(args))
    cli_flags.check_filters(landscape, args.cluster, args.env)
    found = connect_landscape(landscape.clusters, connect_options(args))
    failed = [ClusterResult.unusable(name, str(error)) for name, error in sorted(found.unusable.items())]
    clients = found.clients
    landscape, installed = guardrails_cli.installed(args, landscape, clients)
    for name, error in installed.failed.items():
        failed.append(ClusterResult.unusable(name, error))
        clients.pop(name).close()
    return landscape, clients, failed
