"""``reconciler dev``: the flags of the watch loop; the loop itself is :mod:`reconciler.cli.devloop`."""

from __future__ import annotations

import argparse
from pathlib import Path

from reconciler.cli import flags as cli_flags


def add_command(commands: cli_flags.Commands) -> None:
    dev = commands.add_parser(
        "dev", help="watch a working tree: validate and plan on every save (--apply also converges)",
        description="Watch the repository's YAML files; on every save print the errors (path:line: field: "
        "message) or the plan against the clusters. With --apply, also converge (for a development cluster).",
    )
    cli_flags.add_repo(dev)
    dev.add_argument("--apply", action="store_true", help="converge the clusters on every valid save")
    dev.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig with the clusters' contexts")
    cli_flags.add_context(dev)
    dev.add_argument("--cluster", help="only this cluster")
    dev.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from reconciler.cli import devloop

    return devloop.DevLoop(args.repo, apply=args.apply, kubeconfig=args.kubeconfig, cluster=args.cluster,
                           context_overrides=args.context).run()
