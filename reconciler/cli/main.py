"""Command line: parse arguments, call one function of the core, print a report. No logic of its own.

Each command lives in a module of its own (``reconciler.cli.plan``, ``.diff``, ...) and registers its flags with
:mod:`reconciler.cli.parser`; this module dispatches to the command's handler and turns errors into exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from reconciler.cli import flags as cli_flags
from reconciler.cli import parser as cli_parser
from reconciler.cli import run as cli_run
from reconciler.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_PENDING, EXIT_USAGE
from reconciler.errors import InvalidRepository, ReconcilerError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_PENDING", "EXIT_USAGE", "main"]


def _build_parser() -> argparse.ArgumentParser:
    return cli_parser.build(cli_run.add_command)


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
