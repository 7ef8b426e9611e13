"""The example commands the project documents: the README's fenced ``sh`` blocks and the ``examples:`` section of
every ``--help`` (the top-level one and each command's), in the order a reader meets them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from reconciler.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```(?:sh|bash|shell)\n(.*?)^```", re.S | re.M)


def readme() -> list[str]:
    """Every non-empty line of the README's sh blocks: each is one command."""
    text = (ROOT / "README.md").read_text()
    return [line.strip() for block in _FENCE.findall(text) for line in block.splitlines() if line.strip()]


def _examples(epilog: str | None) -> list[str]:
    """The lines of an epilog's ``examples:`` section, which ends at the next unindented heading."""
    found: list[str] = []
    inside = False
    for line in (epilog or "").splitlines():
        if line.strip() == "examples:":
            inside = True
        elif line and not line[0].isspace():
            inside = False
        elif inside and line.strip():
            found.append(line.strip())
    return found


def help_examples() -> list[str]:
    parser = cli._build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = _examples(parser.epilog)
    for command in commands.choices.values():
        found.extend(_examples(command.epilog))
    return found
