"""``reconciler plan``: what apply would change on the clusters, read with one LIST per kind per cluster."""

from __future__ import annotations

import argparse
import os
import sys

from reconciler.cli import clusters as cli_clusters
from reconciler.cli import flags as cli_flags
from reconciler.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_PENDING
from reconciler.config.gcpause import without_cyclic_gc


def add_command(commands: cli_flags.Commands) -> None:
    plan = commands.add_parser(
        "plan", help="show what apply would change on the clusters",
        description="Render the repository, read the live clusters (one LIST per kind per cluster) and show "
        "what would be created, updated (field by field), deleted or left alone, with warnings and refusals. "
        "Exit 0 when nothing would change, 2 when changes are pending, 1 on errors or refusals.",
    )
    cli_clusters.add_arguments(plan)
    plan.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text", help="output format")
    plan.add_argument("-v", "--verbose", action="store_true", help="also list unchanged objects")
    plan.set_defaults(handler=run)


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


# One command, then the process ends: what it builds (the desired and live objects of every target, about 200,000
# dicts at 1,000 targets) is freed by reference counting, and the cyclic collector would only scan it again and
# again, a tenth of a no-op's time.
@without_cyclic_gc
def run(args: argparse.Namespace) -> int:
    from reconciler.converge import engine as converge
    from reconciler.report import text as report

    landscape, clients, failed = cli_clusters.connected(args)
    targets = landscape.select(args.cluster, args.env)
    results = failed + [
        converge.plan_only(clients[name], landscape, tuple(t for t in targets if t.cluster.name == name),
                           args.allow_mass_delete, scoped=args.env is not None)
        for name in sorted(clients)
    ]
    results.sort(key=lambda r: r.cluster)
    if args.output == "json":
        sys.stdout.write(report.as_json(results))
    elif args.output == "markdown":
        sys.stdout.write(report.markdown(results))
    else:
        sys.stdout.write(report.text(results, color=use_color(), verbose=args.verbose))
    if any(r.failed for r in results):
        return EXIT_ERROR
    return EXIT_PENDING if any(t.pending for r in results for t in r.targets) else EXIT_OK
