"""Examples for every command's ``--help``; each one runs as written in the tests (against the sample repository
and, for the cluster commands, the test clusters)."""

from __future__ import annotations

import argparse
from typing import Any

EXAMPLES = {
    "plan": ["reconciler plan sample-repo --kubeconfig demo/kubeconfig",
             "reconciler plan sample-repo --kubeconfig demo/kubeconfig --env prod -o markdown",
             "reconciler plan sample-repo --kubeconfig demo/kubeconfig --context gpu=admin@gpu"],
    "apply": ["reconciler apply sample-repo --kubeconfig demo/kubeconfig --dry-run=server",
              "reconciler apply sample-repo --kubeconfig demo/kubeconfig --wait 2m",
              "reconciler apply sample-repo --kubeconfig demo/kubeconfig --cluster gpu --context admin@gpu"],
    "run": ["reconciler run --repo https://git.example.com/ml/envs.git --branch main --interval 30s",
            "reconciler run --repo file:///srv/envs.git --cluster gpu --leader-elect --kubeconfig demo/kubeconfig"],
    "dev": ["reconciler dev sample-repo",
            "reconciler dev sample-repo --apply --kubeconfig demo/kubeconfig --cluster shared"],
    "status": ["reconciler status --url http://127.0.0.1:8080",
               "reconciler status --kubeconfig demo/kubeconfig -o json"],
}


class Formatter(argparse.HelpFormatter):
    """Wraps descriptions, keeps multi-line epilogs (examples, exit codes) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_examples(commands: argparse._SubParsersAction[Any]) -> None:
    """Give each command without an epilog of its own its examples."""
    for name, lines in EXAMPLES.items():
        parser = commands.choices[name]
        if parser.epilog is None:
            parser.epilog = "examples:\n" + "".join(f"  {line}\n" for line in lines)
            parser.formatter_class = Formatter
