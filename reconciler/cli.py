"""Command line: parse arguments, call one function of the core, print a report. No logic of its own."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from reconciler import (
    cli_completion,
    cli_examples,
    cli_flags,
    cli_managed,
    cli_output,
    cli_render,
    cli_validate,
    config,
    guardrails_cli,
    report_diff,
)
from reconciler import diff as change_diff
from reconciler import version as build
from reconciler.errors import InvalidRepository, ReconcilerError

if TYPE_CHECKING:  # validate, render and diff never load the Kubernetes client: commands that reach a cluster do
    from reconciler import converge
    from reconciler.kube.client import ClusterClient

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PENDING = 2
# sysexits.h EX_USAGE: a mistyped flag must never read as "changes pending" (2) or "blocked" (3) in CI.
EXIT_USAGE = 64

DESCRIPTION = """\
GitOps reconciler for machine-learning platforms.

An environments repository (plain YAML in git) describes clusters, teams, profiles and environments.
The reconciler validates it, renders what each environment needs (namespace, quota, limits, access
bindings, network isolation and an ML agent) and converges every cluster to it.
"""

EPILOG = """\
examples:
  reconciler validate sample-repo
  reconciler render sample-repo --env prod
  reconciler render sample-repo --cluster gpu | kubectl --context gpu apply -f -

  reconciler plan sample-repo --kubeconfig demo/kubeconfig
  reconciler apply sample-repo --kubeconfig demo/kubeconfig --dry-run=server
  reconciler apply sample-repo --kubeconfig demo/kubeconfig --context gpu=admin@gpu --wait 2m

  reconciler diff --base origin/main -o markdown > plan.md
  reconciler status --url http://127.0.0.1:8080

exit codes: 0 success (plan: nothing to change), 1 invalid repository, error or refusal,
            2 plan: changes are pending, 3 diff: a risk finding blocks the change,
            access: git and the clusters disagree
            64 usage error (unknown command or option, missing or malformed argument)
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with their own code (argparse's default, 2, is "changes pending" here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", nargs="?", default=".", type=Path,
                        help="path of the environments repository (default: the current directory)")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="reconciler", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=build.describe())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cli_validate.add_command(commands)
    cli_render.add_command(commands)

    plan = commands.add_parser(
        "plan", help="show what apply would change on the clusters",
        description="Render the repository, read the live clusters (one LIST per kind per cluster) and show "
        "what would be created, updated (field by field), deleted or left alone, with warnings and refusals. "
        "Exit 0 when nothing would change, 2 when changes are pending, 1 on errors or refusals.",
    )
    _cluster_arguments(plan)
    plan.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text", help="output format")
    plan.add_argument("-v", "--verbose", action="store_true", help="also list unchanged objects")
    plan.set_defaults(handler=_plan)

    apply = commands.add_parser(
        "apply", help="converge the clusters to the repository",
        description="Converge every selected cluster: every object to write is first sent as a server-side dry run "
        "(if any API server refuses the revision, nothing is written on any cluster), then server-side apply in "
        "dependency order, prune only what the reconciler owns, record the inventory. Clusters converge in "
        "parallel; one cluster's failure does not stop the others. Exit 0 when every cluster converged, 1 otherwise.",
    )
    _cluster_arguments(apply)
    cli_flags.add_dry_run(apply, "send every write")
    apply.add_argument("--wait", type=cli_flags.duration, default=0.0, metavar="DURATION",
                       help="wait up to DURATION (30s, 2m; a bare number is seconds) for the agents' rollouts")
    apply.add_argument("--revision", default="", help="the git revision recorded in the inventory (default: the "
                       "repository's HEAD commit)")
    apply.add_argument("--force", action="store_true", help="also apply to targets the in-cluster controller "
                       "manages at a revision this one does not contain (it would revert them)")
    apply.add_argument("--ignore-change-windows", action="store_true",
                       help="apply even where the Platform's change window is closed or frozen")
    apply.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format")
    apply.add_argument("-v", "--verbose", action="store_true", help="list every object written (default: a "
                       "summary per target)")
    apply.set_defaults(handler=_apply)
    _add_diff_command(commands)
    _add_access_command(commands)
    _add_controller_commands(commands)
    _add_tool_commands(commands)
    cli_examples.add_examples(commands)
    return parser


def _add_tool_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    version = commands.add_parser("version", help="print the reconciler's version",
                                  description="Print the installed reconciler's version (also on the controller's "
                                  "/status and as the reconciler_build_info metric).",
                                  epilog="examples:\n  reconciler version\n  reconciler --version\n",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    version.set_defaults(handler=_version)
    completion = commands.add_parser("completion", help="print a shell completion script (bash, zsh, fish)",
                                     description="Print a completion script for the shell; every command and flag "
                                     "completes.", epilog=cli_completion.EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    completion.add_argument("shell", choices=cli_completion.SHELLS)
    completion.set_defaults(handler=_completion)


def _version(_args: argparse.Namespace) -> int:
    print(build.describe())
    return EXIT_OK


def _completion(args: argparse.Namespace) -> int:
    sys.stdout.write(cli_completion.script(_build_parser(), args.shell))
    return EXIT_OK


def _cluster_arguments(parser: argparse.ArgumentParser) -> None:
    _repo_argument(parser)
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig with the clusters' contexts (default: $KUBECONFIG or ~/.kube/config)")
    cli_flags.add_context(parser)
    parser.add_argument("--cluster", help="only this cluster (needs no credentials for the others)")
    parser.add_argument("--env", help="only this environment (removed environments are then not considered)")
    parser.add_argument("--allow-mass-delete", action="store_true",
                        help="allow a plan that deletes more than the Platform's massDeletePercent of a target")
    guardrails_cli.add_argument(parser)


def _clients(landscape: config.Landscape, args: argparse.Namespace) -> tuple[dict[str, ClusterClient],
                                                                          list[converge.ClusterResult]]:
    """A client per selected cluster; a cluster whose credentials cannot be used fails alone."""
    from reconciler import converge
    from reconciler.kube.connect import connect_all

    names = [args.cluster] if args.cluster else sorted(landscape.clusters)
    overrides = cli_flags.context_overrides(args.context, args.cluster, landscape.clusters)
    clients, unusable = connect_all(cli_flags.with_contexts(landscape.clusters, overrides), names, args.kubeconfig)
    failed = [converge.ClusterResult(name, errors=[str(error)]) for name, error in sorted(unusable.items())]
    return clients, failed


def _connected(args: argparse.Namespace) -> tuple[config.Landscape, dict[str, ClusterClient],
                                                  list[converge.ClusterResult]]:
    """The landscape validated against the guardrails of the clusters it reaches, and their clients; a cluster
    that cannot be connected to or read fails alone."""
    from reconciler import converge

    landscape = config.load_landscape(args.repo, guardrails_cli.offline(args))
    cli_flags.check_filters(landscape, args.cluster, args.env)
    clients, failed = _clients(landscape, args)
    landscape, installed = guardrails_cli.installed(args, landscape, clients)
    for name, error in installed.failed.items():
        failed.append(converge.ClusterResult(name, errors=[error]))
        clients.pop(name).close()
    return landscape, clients, failed


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _plan(args: argparse.Namespace) -> int:
    from reconciler import converge, report

    landscape, clients, failed = _connected(args)
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
        sys.stdout.write(report.text(results, color=_use_color(), verbose=args.verbose))
    if any(r.failed for r in results):
        return EXIT_ERROR
    return EXIT_PENDING if any(t.pending for r in results for t in r.targets) else EXIT_OK


def _apply(args: argparse.Namespace) -> int:
    from reconciler import converge, report

    landscape, clients, failed = _connected(args)
    targets = landscape.select(args.cluster, args.env)
    revision = args.revision or cli_managed.head_revision(args.repo)
    progress = cli_output.Progress()
    options = converge.ConvergeOptions(dry_run=args.dry_run == "server", allow_mass_delete=args.allow_mass_delete,
                                       revision=revision, wait_seconds=args.wait,
                                       ignore_change_windows=args.ignore_change_windows,
                                       guard=None if args.force else cli_managed.guard(args.repo, revision),
                                       on_total=progress.start)
    results = failed + converge.converge(landscape, clients, options, targets, progress,
                                         scoped=args.env is not None)
    results.sort(key=lambda r: r.cluster)
    if args.output == "json":
        sys.stdout.write(report.as_json(results))
    else:
        heading = "Dry run (nothing written)" if args.dry_run == "server" else "Applied"
        sys.stdout.write(report.text(results, color=_use_color(), heading=heading, listed=args.verbose))
        totals = converge.summary(results)
        print(f"{totals['writes']} write request(s); {totals['errors']} error(s)")
        if args.dry_run == "server":
            print(cli_output.dry_run_checked(results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


DIFF_EPILOG = """\
examples:
  reconciler diff --base origin/main                      # the change of this branch, as text
  reconciler diff envs --base origin/main -o markdown > plan.md
  reconciler diff --base HEAD~1 --kubeconfig ~/.kube/config  # also check quotas against live usage

exit codes: 0 nothing blocks the change, 1 error (unknown revision, invalid head revision: its
            path:line errors are printed, unreadable cluster with --kubeconfig),
            3 a finding blocks the change (see the findings; docs/change-control.md lists the rules),
            64 usage error
"""


def _add_diff_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    diff = commands.add_parser(
        "diff", help="show what a change between two git revisions does, and its risks",
        description="Read two revisions of the repository from git (the work tree is not touched), render both "
        "and show per environment and target the objects added, changed (field by field) and removed, with the "
        "findings of the risk rules and change windows. No cluster is needed; with --kubeconfig, quotas are also "
        "checked against live usage.",
        epilog=DIFF_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _repo_argument(diff)
    diff.add_argument("--base", required=True, metavar="REV", help="the revision the change starts from, e.g. "
                      "origin/main")
    diff.add_argument("--head", default="HEAD", metavar="REV", help="the revision with the change (default: HEAD)")
    diff.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text", help="output format")
    diff.add_argument("--kubeconfig", type=Path, default=None,
                      help="also read live quota usage from the clusters (contexts as in the Cluster documents)")
    cli_flags.add_context(diff)
    diff.add_argument("--now", type=_timestamp, default=None, metavar="ISO8601",
                      help="the time change windows are checked at (default: now), e.g. 2025-06-02T10:00:00Z")
    guardrails_cli.add_argument(diff)
    diff.set_defaults(handler=_diff)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time such as 2025-06-02T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _live_usage(revisions: change_diff.Revisions, kubeconfig: Path, contexts: list[str],
                ) -> dict[str, dict[str, str]]:
    from reconciler import kueue_live
    from reconciler.kube.connect import connect_all

    usage: dict[str, dict[str, str]] = {}
    names = sorted({target.cluster.name for target in change_diff.quota_targets(revisions)})
    clusters = revisions.after.clusters
    overrides = cli_flags.context_overrides(contexts, None, clusters)
    clients, unusable = connect_all(cli_flags.with_contexts(clusters, overrides), names, kubeconfig)
    if unusable:
        raise unusable[min(unusable)]
    for name, client in sorted(clients.items()):
        try:
            usage.update(change_diff.usage_from_quotas(name, client.list("ResourceQuota", change_diff.QUOTA_SELECTOR)))
            kueue_live.add_usage(usage, name, revisions.after, client)
        finally:
            client.close()
    return usage


def _diff(args: argparse.Namespace) -> int:
    try:
        revisions = change_diff.load_revisions(args.repo, args.base, args.head, guardrails_cli.offline(args))
    except change_diff.InvalidRevision as invalid:
        for error in invalid.errors:
            print(error, file=sys.stderr)
        print(f"{args.repo}: the head revision {args.head} ({invalid.revision.short}) has {len(invalid.errors)} "
              "error(s); fix them before review", file=sys.stderr)
        return EXIT_ERROR
    usage = _live_usage(revisions, args.kubeconfig, args.context) if args.kubeconfig else None
    result = change_diff.compare(revisions, usage, args.now or datetime.now(UTC))
    if args.output == "json":
        sys.stdout.write(report_diff.as_json(result))
    elif args.output == "markdown":
        sys.stdout.write(report_diff.markdown(result))
    else:
        sys.stdout.write(report_diff.text(result))
    return result.exit_code


ACCESS_EPILOG = """\
checks (with --kubeconfig), for every subject git names and two controls (a user in no team, an
anonymous request), in every target namespace: get pods, create pods, read secrets, update
resourcequotas, create rolebindings. A yes git does not explain (a hand-made RoleBinding, a
ClusterRoleBinding) and a no where git grants a role are disagreements, marked YES! and NO!.

examples:
  reconciler access sample-repo                          # the matrix from git, no cluster needed
  reconciler access sample-repo --kubeconfig ~/.kube/config --env prod -o markdown

exit codes: 0 git and the clusters agree (always, without --kubeconfig), 1 error (invalid repository,
            unreachable cluster), 3 git and the clusters disagree (see the disagreements)
"""


def _add_access_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    access = commands.add_parser(
        "access", help="who may do what in which environment: from git, and proven on the clusters",
        description="Print the matrix of team and user x environment -> role from git, each team expanded to its "
        "groups, users and service accounts (no cluster needed). With --kubeconfig, ask every target's API server "
        "(SubjectAccessReview) what each subject may really do, and report access git does not explain and "
        "declared access that does not work.",
        epilog=ACCESS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _repo_argument(access)
    access.add_argument("--kubeconfig", type=Path, default=None,
                        help="check the clusters too (contexts as in the Cluster documents)")
    cli_flags.add_context(access)
    access.add_argument("--cluster", help="only targets on this cluster")
    access.add_argument("--env", help="only this environment")
    access.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text", help="output format")
    access.set_defaults(handler=_access)


def _access(args: argparse.Namespace) -> int:
    from reconciler import access_live, report_access
    from reconciler.kube.connect import connect_all

    landscape = config.load_landscape(args.repo)
    cli_flags.check_filters(landscape, args.cluster, args.env)
    targets = landscape.select(args.cluster, args.env)
    clients, unusable = None, {}
    if args.kubeconfig:
        overrides = cli_flags.context_overrides(args.context, args.cluster, landscape.clusters)
        clusters = cli_flags.with_contexts(landscape.clusters, overrides)
        clients, failed = connect_all(clusters, sorted({t.cluster.name for t in targets}), args.kubeconfig)
        unusable = {name: str(error) for name, error in failed.items()}
    try:
        found = access_live.prove_access(landscape, targets, clients, unusable)
    finally:
        for client in (clients or {}).values():
            client.close()
    writer = {"json": report_access.as_json, "markdown": report_access.markdown}.get(args.output, report_access.text)
    sys.stdout.write(writer(found))
    return found.exit_code


def _add_controller_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    from reconciler.durations import parse_duration

    def duration(text: str) -> float:
        try:
            return parse_duration(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    run = commands.add_parser(
        "run", help="follow a branch and converge every commit, undoing drift (the in-cluster controller)",
        description="Follow one branch of the environments repository: check it every --interval (or at once when "
        "POST /hooks/git is called), validate each new commit and converge every cluster to it; a bad commit "
        "changes nothing and is reported on /status. Every --resync the clusters are converged again, which undoes "
        "drift. SIGTERM finishes the object being written, then exits 0. See docs/operations.md.",
    )
    run.add_argument("--repo", required=True, metavar="URL",
                     help="https://, ssh:// or git@host:path URL, file:// URL or local path of the repository")
    run.add_argument("--branch", default="main", help="the branch to follow (default: main)")
    run.add_argument("--path", default="", metavar="SUBDIR", help="the environments repository's folder in it")
    run.add_argument("--interval", type=duration, default=30.0, help="how often to check the branch (default 30s)")
    run.add_argument("--resync", type=duration, default=300.0, help="how often to converge again (default 5m)")
    run.add_argument("--cluster", help="converge only this cluster (needs credentials for no other)")
    run.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig with the clusters' contexts")
    cli_flags.add_context(run)
    run.add_argument("--listen", default=":8080", metavar="ADDR",
                     help="address of /healthz /readyz /metrics /status /hooks/git (default :8080)")
    run.add_argument("--workdir", type=Path, default=None,
                     help="where the git mirror and checkouts live (default $TMPDIR/reconciler)")
    run.add_argument("--max-backoff", type=duration, default=300.0,
                     help="longest wait before retrying a failed cluster (default 5m)")
    run.add_argument("--leader-elect", action="store_true",
                     help="run several replicas; on each cluster only the holder of that cluster's Lease writes")
    run.add_argument("--lease-namespace", default="reconciler-system", help="namespace of the Leases")
    run.add_argument("--lease-cluster", help="ignored, kept for old command lines: each cluster's Lease now lives on "
                     "that cluster")
    run.add_argument("--lease-name", help="name of the Lease (default reconciler, or reconciler-CLUSTER)")
    run.add_argument("--lease-duration", type=duration, default=15.0, help="lease duration (default 15s)")
    run.add_argument("--git-token-file", type=Path, help="file holding an https token (or $RECONCILER_GIT_TOKEN)")
    run.add_argument("--git-username", help="user name sent with the token (default x-access-token)")
    run.add_argument("--ssh-key", type=Path, help="private key for ssh URLs")
    run.add_argument("--known-hosts", type=Path, help="known_hosts file for ssh URLs (hosts are always checked)")
    run.add_argument("--webhook-secret-file", type=Path,
                     help="HMAC secret of POST /hooks/git (or $RECONCILER_WEBHOOK_SECRET); without one the webhook "
                     "is disabled")
    run.add_argument("--verify-signatures", type=Path, metavar="FILE",
                     help="apply only commits signed by a key of this SSH allowed-signers file (git's "
                     "gpg.ssh.allowedSignersFile format); other commits are held and shown on /status")
    run.add_argument("--verify-gpg-keys", type=Path, metavar="FILE",
                     help="also accept commits signed by a key of this exported GPG public keyring (imported into a "
                     "private keyring of the reconciler); alone, it is the only list of signers")
    run.add_argument("--approvals", type=Path, metavar="FILE",
                     help="commits released from a risk hold: one commit id (12 hex digits or more) per line, re-read "
                     "at every check; mount it from a ConfigMap that only the installation's owners may change")
    guardrails_cli.add_argument(run)
    run.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    run.add_argument("--log-format", default="auto", choices=("auto", "json", "text"),
                     help="auto: JSON lines unless stderr is a terminal")
    run.set_defaults(handler=_run)

    dev = commands.add_parser(
        "dev", help="watch a working tree: validate and plan on every save (--apply also converges)",
        description="Watch the repository's YAML files; on every save print the errors (path:line: field: "
        "message) or the plan against the clusters. With --apply, also converge (for a development cluster).",
    )
    _repo_argument(dev)
    dev.add_argument("--apply", action="store_true", help="converge the clusters on every valid save")
    dev.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig with the clusters' contexts")
    cli_flags.add_context(dev)
    dev.add_argument("--cluster", help="only this cluster")
    dev.set_defaults(handler=_dev)

    status = commands.add_parser(
        "status", help="the landscape: state, revision, agents and quota usage per environment and cluster",
        description="Show every environment target: its state, revision, agent health and quota usage (CPU, memory, "
        "GPUs) per environment and in total. From a running controller (--url, its /status) or, without one, from "
        "the inventories, ResourceQuotas and agents in each context of --kubeconfig. Exit 0 when every target is "
        "converged, 2 when one is not, 1 when the status cannot be read.",
    )
    where = status.add_mutually_exclusive_group()
    where.add_argument("--url", help="address of a running controller, e.g. http://127.0.0.1:8080")
    where.add_argument("--kubeconfig", type=Path, default=None,
                       help="read the clusters directly: every context of this kubeconfig (default $KUBECONFIG)")
    status.add_argument("--context", action="append", metavar="NAME", help="with --kubeconfig: only this context "
                        "(repeatable)")
    status.add_argument("--platform", metavar="NAME", help="with --kubeconfig: only the targets of this Platform "
                        "(several environments repositories may share a cluster)")
    status.add_argument("-o", "--output", choices=("text", "json"), default="text")
    status.set_defaults(handler=_status)


def _run(args: argparse.Namespace) -> int:
    from reconciler import controller, logs

    logs.setup(args.log_level, None if args.log_format == "auto" else args.log_format == "json")
    token = controller.read_secret(args.git_token_file, "RECONCILER_GIT_TOKEN")
    webhook_secret = controller.read_secret(args.webhook_secret_file, "RECONCILER_WEBHOOK_SECRET")
    logs.register_secret(token)
    logs.register_secret(webhook_secret)
    settings = controller.Settings(
        repo=args.repo, branch=args.branch, path=args.path, interval=args.interval, resync=args.resync,
        cluster=args.cluster, listen=args.listen, kubeconfig=args.kubeconfig, contexts=tuple(args.context),
        **({"workdir": args.workdir} if args.workdir else {}), leader_elect=args.leader_elect,
        lease_namespace=args.lease_namespace, lease_cluster=args.lease_cluster, lease_name=args.lease_name,
        lease_duration=args.lease_duration, max_backoff=args.max_backoff, git_token=token,
        git_username=args.git_username, ssh_key=args.ssh_key, known_hosts=args.known_hosts,
        webhook_secret=webhook_secret, verify_signatures=args.verify_signatures,
        verify_gpg_keys=args.verify_gpg_keys, guardrails=guardrails_cli.given(args),
        approvals=args.approvals)
    return controller.Controller(settings).run()


def _dev(args: argparse.Namespace) -> int:
    from reconciler import devloop

    return devloop.DevLoop(args.repo, apply=args.apply, kubeconfig=args.kubeconfig, cluster=args.cluster,
                           context_overrides=args.context).run()


def _status(args: argparse.Namespace) -> int:
    import json

    from reconciler import status_cli, status_text

    snapshot = (status_cli.from_url(args.url) if args.url
                else status_cli.from_clusters(args.kubeconfig, args.context, args.platform))
    if args.output == "json":
        print(json.dumps(snapshot, indent=1, sort_keys=True))
    else:
        print(status_text.render(snapshot), end="")
    return EXIT_OK if status_text.settled(snapshot) else EXIT_PENDING


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(cli_flags.normalise_argv(sys.argv[1:] if argv is None else argv))
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except InvalidRepository as invalid:
        for error in invalid.errors:
            print(error, file=sys.stderr)
        print(f"{args.repo}: {len(invalid.errors)} error(s); nothing was rendered or applied", file=sys.stderr)
        return EXIT_ERROR
    except ReconcilerError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
