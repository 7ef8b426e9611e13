"""Command line: parse arguments, call one function of the core, print a report. No logic of its own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from reconciler import config
from reconciler.errors import InvalidRepository, ReconcilerError
from reconciler.render import output, render_landscape

EXIT_OK = 0
EXIT_ERROR = 1

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
  reconciler render sample-repo --out rendered/ && kubectl apply -R -f rendered/

exit codes: 0 success, 1 invalid repository or error
"""


def _repo_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo", nargs="?", default=".", type=Path,
                        help="path of the environments repository (default: the current directory)")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reconciler", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser(
        "validate", help="check the repository: YAML, schemas, references, policy",
        description="Check every *.yaml/*.yml file of the repository and report all errors as "
        "path:line: field: message. Exit 0 when valid, 1 otherwise.",
    )
    _repo_argument(validate)
    validate.set_defaults(handler=_validate)

    render = commands.add_parser(
        "render", help="print the Kubernetes objects each environment target needs",
        description="Render the objects of every environment target (no cluster needed). Output is "
        "deterministic. With --out, write DIR/<cluster>/<namespace>.yaml for kubectl apply -R -f DIR.",
    )
    _repo_argument(render)
    render.add_argument("--cluster", help="only targets on this cluster")
    render.add_argument("--env", help="only this environment")
    render.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml", help="output format")
    render.add_argument("--out", type=Path, metavar="DIR", help="write one file per cluster and namespace under DIR")
    render.set_defaults(handler=_render)
    return parser


def _validate(args: argparse.Namespace) -> int:
    landscape = config.load_landscape(args.repo)
    print(f"{args.repo}: valid: {landscape.summary()}")
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    landscape = config.load_landscape(args.repo)
    _check_filters(landscape, args.cluster, args.env)
    rendered = render_landscape(landscape, landscape.select(args.cluster, args.env))
    if args.out:
        written = output.write_tree(rendered, args.out)
        count = sum(len(objects) for objects in rendered.values())
        print(f"wrote {count} objects for {len(rendered)} target(s) in {len(written)} file(s) under {args.out}")
    elif args.output == "json":
        sys.stdout.write(output.to_json({"targets": rendered}))
    else:
        sys.stdout.write(output.to_yaml([o for objects in rendered.values() for o in objects]))
    return EXIT_OK


def _check_filters(landscape: config.Landscape, cluster: str | None, environment: str | None) -> None:
    if cluster is not None and cluster not in landscape.clusters:
        raise ReconcilerError(f"--cluster {cluster}: no such cluster; known: {', '.join(sorted(landscape.clusters))}")
    if environment is not None and environment not in landscape.environments:
        known = ", ".join(sorted(landscape.environments))
        raise ReconcilerError(f"--env {environment}: no such environment; known: {known}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
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
