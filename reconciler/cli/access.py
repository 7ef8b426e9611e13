"""``reconciler access``: who may do what in which environment, from git, and proven on the clusters by their own
authorizer (SubjectAccessReview) when ``--kubeconfig`` is given."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reconciler import config
from reconciler.cli import flags as cli_flags

EPILOG = """\
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


def add_command(commands: cli_flags.Commands) -> None:
    access = commands.add_parser(
        "access", help="who may do what in which environment: from git, and proven on the clusters",
        description="Print the matrix of team and user x environment -> role from git, each team expanded to its "
        "groups, users and service accounts (no cluster needed). With --kubeconfig, ask every target's API server "
        "(SubjectAccessReview) what each subject may really do, and report access git does not explain and "
        "declared access that does not work.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_flags.add_repo(access)
    access.add_argument("--kubeconfig", type=Path, default=None,
                        help="check the clusters too (contexts as in the Cluster documents)")
    cli_flags.add_context(access)
    access.add_argument("--cluster", help="only targets on this cluster")
    access.add_argument("--env", help="only this environment")
    access.add_argument("-o", "--output", choices=("text", "markdown", "json"), default="text", help="output format")
    access.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from reconciler.report import access as report_access
    from reconciler.report import access_live

    landscape = config.load_landscape(args.repo)
    cli_flags.check_filters(landscape, args.cluster, args.env)
    targets = landscape.select(args.cluster, args.env)
    if not args.kubeconfig:
        found = access_live.prove_access(landscape, targets, None)
    else:
        from reconciler.cli import clusters as cli_clusters
        from reconciler.kube.connect import connect_landscape

        names = {t.cluster.name for t in targets}
        with connect_landscape(landscape.clusters, cli_clusters.connect_options(args), names) as reached:
            unusable = {name: str(error) for name, error in reached.unusable.items()}
            found = access_live.prove_access(landscape, targets, reached.clients, unusable)
    writer = {"json": report_access.as_json, "markdown": report_access.markdown}.get(args.output, report_access.text)
    sys.stdout.write(writer(found))
    return found.exit_code
