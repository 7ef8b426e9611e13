"""``reconciler apply``: converge the selected clusters, a server-side dry run of every write first."""

from __future__ import annotations

import argparse
import sys

from reconciler.cli import clusters as cli_clusters
from reconciler.cli import flags as cli_flags
from reconciler.cli import plan as cli_plan
from reconciler.cli.exits import EXIT_ERROR, EXIT_OK
from reconciler.config.gcpause import without_cyclic_gc

# Requests in flight per cluster: a converge's writes share one pool of this many connections per cluster
# (reconciler.kube.endpoint.POOL_SIZE is the most), tuned by bench/converge.py --reconciler-concurrency.
CONCURRENCY, MAX_CONCURRENCY = 32, 32


def in_flight(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number of requests from 1 to {MAX_CONCURRENCY}")
    return int(text)


def add_command(commands: cli_flags.Commands) -> None:
    apply = commands.add_parser(
        "apply", help="converge the clusters to the repository",
        description="Converge every selected cluster: every object to write is first sent as a server-side dry run "
        "(if any API server refuses the revision, nothing is written on any cluster), then server-side apply in "
        "dependency order, prune only what the reconciler owns, record the inventory. Clusters converge in "
        "parallel; one cluster's failure does not stop the others. Exit 0 when every cluster converged, 1 otherwise.",
    )
    cli_clusters.add_arguments(apply)
    cli_flags.add_dry_run(apply, "send every write")
    apply.add_argument("--wait", type=cli_flags.duration, default=0.0, metavar="DURATION",
                       help="wait up to DURATION (30s, 2m; a bare number is seconds) for the agents' rollouts")
    apply.add_argument("--revision", default="", help="the git revision recorded in the inventory (default: the "
                       "repository's HEAD commit)")
    apply.add_argument("--force", action="store_true", help="also apply to targets the in-cluster controller "
                       "manages at a revision this one does not contain (it would revert them)")
    apply.add_argument("--ignore-change-windows", action="store_true",
                       help="apply even where the Platform's change window is closed or frozen")
    apply.add_argument("--in-flight", type=in_flight, default=CONCURRENCY, metavar="N",
                       help=f"requests in flight per cluster, from all its targets (default {CONCURRENCY})")
    apply.add_argument("-o", "--output", choices=("text", "json"), default="text",
                       help="output format; json has per cluster one entry per object and step (action, outcome, "
                       "object, and the API server's status and reason when it failed)")
    apply.add_argument("-v", "--verbose", action="store_true", help="list every object written (default: a "
                       "summary per target)")
    apply.set_defaults(handler=run)


@without_cyclic_gc  # one command, then the process ends: see reconciler.cli.plan.run
def run(args: argparse.Namespace) -> int:
    from reconciler.cli import managed as cli_managed
    from reconciler.cli import output as cli_output
    from reconciler.converge import engine as converge
    from reconciler.report import text as report

    landscape, clients, failed = cli_clusters.connected(args)
    targets = landscape.select(args.cluster, args.env)
    revision = args.revision or cli_managed.head_revision(args.repo)
    progress = cli_output.Progress()
    options = converge.ConvergeOptions(dry_run=args.dry_run == "server", allow_mass_delete=args.allow_mass_delete,
                                       revision=revision, wait_seconds=args.wait,
                                       ignore_change_windows=args.ignore_change_windows, workers=args.in_flight,
                                       guard=None if args.force else cli_managed.guard(args.repo, revision),
                                       on_total=progress.start)
    results = failed + converge.converge(landscape, clients, options, targets, progress,
                                         scoped=args.env is not None)
    results.sort(key=lambda r: r.cluster)
    if args.output == "json":
        sys.stdout.write(report.as_json(results))
    else:
        heading = "Dry run (nothing written)" if args.dry_run == "server" else "Applied"
        sys.stdout.write(report.text(results, color=cli_plan.use_color(), heading=heading, listed=args.verbose))
        totals = converge.summary(results)
        print(f"{totals['writes']} write request(s); {totals['errors']} error(s)")
        if args.dry_run == "server":
            print(cli_output.dry_run_checked(results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR
