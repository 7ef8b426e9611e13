"""The argument parser: the top level, the flags several commands share, and the small tool commands.

Building it is cheap on purpose: every command module registers its flags without importing what its handler
needs (the configuration, the renderer, the Kubernetes client), so ``reconciler validate`` in a pre-commit hook
pays only for validation."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from reconciler.cli import access, apply, completion, dev, diff, examples, plan, render, status, validate
from reconciler.cli.exits import EXIT_OK, EXIT_USAGE
from reconciler.cli.flags import Commands

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


class Parser(argparse.ArgumentParser):
    """Usage errors exit with their own code (argparse's default, 2, is "changes pending" here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class _Version(argparse.Action):
    """``--version``, reading the installed version only when asked (package metadata is slow to load)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the reconciler's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(_describe())
        parser.exit()


def _describe() -> str:
    from reconciler import version

    return version.describe()


def build(add_run: Callable[[Commands], None]) -> argparse.ArgumentParser:
    """The whole parser; ``add_run`` registers the in-cluster controller's command among the others."""
    parser = Parser(prog="reconciler", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (validate, render, plan, apply, diff, access):
        module.add_command(commands)
    add_run(commands)
    dev.add_command(commands)
    status.add_command(commands)
    _add_tool_commands(commands, parser)
    examples.add_examples(commands)
    return parser


def _add_tool_commands(commands: Commands, parser: argparse.ArgumentParser) -> None:
    version = commands.add_parser("version", help="print the reconciler's version",
                                  description="Print the installed reconciler's version (also on the controller's "
                                  "/status and as the reconciler_build_info metric).",
                                  epilog="examples:\n  reconciler version\n  reconciler --version\n",
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    version.set_defaults(handler=_version)
    shell = commands.add_parser("completion", help="print a shell completion script (bash, zsh, fish)",
                                description="Print a completion script for the shell; every command and flag "
                                "completes.", epilog=completion.EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    shell.add_argument("shell", choices=completion.SHELLS)
    shell.set_defaults(handler=lambda args: _completion(parser, args))


def _version(_args: argparse.Namespace) -> int:
    print(_describe())
    return EXIT_OK


def _completion(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    sys.stdout.write(completion.script(parser, args.shell))
    return EXIT_OK

