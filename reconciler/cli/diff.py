"""``reconciler diff``: what a change between two git revisions does, and its risks (the pull-request plan).

No cluster is needed: the Kubernetes client is loaded only when ``--kubeconfig`` asks for live quota usage."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.cli import flags as cli_flags
from reconciler.cli import guardrails as guardrails_cli
from reconciler.cli.exits import EXIT_ERROR

if TYPE_CHECKING:
    from reconciler.plan import revisions as plan_revisions

EPILOG = """\
examples:
  reconciler diff --base origin/main                      # the change of this branch, as text
  reconciler diff envs --base origin/main -o markdown > plan.md
  reconciler diff --base HEAD~1 --kubeconfig ~/.kube/config  # also check quotas against live usage

exit codes: 0 nothing blocks the change, 1 error (unknown revision, invalid head revision: its
            path:line errors are printed, unreadable cluster with --kubeconfig),
            3 a finding blocks the change (see the findings; docs/change-control.md lists the rules),
            64 usage error
"""


def add_command(commands: cli_flags.Commands) -> None:
    diff = commands.add_parser(
        "diff", help="show what a change between two git revisions does, and its risks",
        description="Read two revisions of the repository from git (the work tree is not touched), render both "
        "and show per environment and target the objects added, changed (field by field) and removed, with the "
        "findings of the risk rules and change windows. No cluster is needed; with --kubeconfig, quotas are also "
        "checked against live usage.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_flags.add_repo(diff)
    diff.add_argument("--base", required=True, metavar="REV", help="the revision the change starts from, e.g. "
                      "origin/main")
    diff.add_argument("--head", default="HEAD", metavar="REV", help="the revision with the change (default: HEAD)")
    diff.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text", help="output format")
    diff.add_argument("--kubeconfig", type=Path, default=None,
                      help="also read live quota usage from the clusters (contexts as in the Cluster documents)")
    cli_flags.add_context(diff)
    diff.add_argument("--now", type=timestamp, default=None, metavar="ISO8601",
                      help="the time change windows are checked at (default: now), e.g. 2025-06-02T10:00:00Z")
    guardrails_cli.add_argument(diff)
    diff.set_defaults(handler=run)


def timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2025-06-02T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(args: argparse.Namespace) -> int:
    from reconciler.plan import diff as change_diff
    from reconciler.plan import revisions as plan_revisions
    from reconciler.report import diff as report_diff

    try:
        revisions = plan_revisions.load_revisions(args.repo, args.base, args.head, guardrails_cli.offline(args))
    except plan_revisions.InvalidRevision as invalid:
        for error in invalid.errors:
            print(error, file=sys.stderr)
        print(f"{args.repo}: the head revision {args.head} ({invalid.revision.short}) has {len(invalid.errors)} "
              "error(s); fix them before review", file=sys.stderr)
        return EXIT_ERROR
    usage = _live_usage(revisions, args) if args.kubeconfig else None
    result = change_diff.compare(revisions, usage, args.now or datetime.now(UTC))
    writer = {"json": report_diff.as_json, "markdown": report_diff.markdown}.get(args.output, report_diff.text)
    sys.stdout.write(writer(result))
    return result.exit_code


def _live_usage(revisions: plan_revisions.Revisions, args: argparse.Namespace) -> dict[str, dict[str, str]]:
    from reconciler.kube import live_usage
    from reconciler.kube.connect import ConnectOptions

    return live_usage.read(revisions, ConnectOptions(kubeconfig=args.kubeconfig, contexts=tuple(args.context)))
