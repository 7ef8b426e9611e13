"""The guardrails a command validates against: a --guardrails file, and those installed on the clusters it reaches.

validate, render and diff reach no cluster: the file (or the built-in defaults) is all they know. plan, apply and run
read each cluster's guardrails ConfigMap at start and validate against the intersection (see
``reconciler.config.guardrails.combine`` for why), saying on stderr where each cluster's came from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler import config
from reconciler.config import guardrails
from reconciler.config.guardrails import Guardrails

if TYPE_CHECKING:  # the offline commands (validate, render, diff) import no Kubernetes client
    from reconciler.kube.client import ClusterClient
    from reconciler.kube.guardrails import Installed


def add_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--guardrails", type=Path, metavar="FILE", default=None,
                        help="the installation's guardrails ConfigMap (as deploy/guardrails.yaml); default: the "
                        "clusters' own reconciler-system/reconciler-guardrails where the command reaches them, "
                        "else the built-in defaults")


def given(args: argparse.Namespace) -> Guardrails | None:
    path: Path | None = getattr(args, "guardrails", None)
    return guardrails.load_file(path) if path else None


def offline(args: argparse.Namespace) -> Guardrails:
    """For commands that reach no cluster."""
    return given(args) or guardrails.DEFAULT


def installed(args: argparse.Namespace, landscape: config.Landscape,
              clients: dict[str, ClusterClient]) -> tuple[config.Landscape, Installed]:
    """The landscape validated again if the clusters' guardrails differ from what it was loaded with; raises
    InvalidRepository (with path:line) when the repository asks for more than they allow."""
    from reconciler.kube.guardrails import installed_guardrails

    found = installed_guardrails(clients, landscape.guardrails if args.guardrails else None)
    for note in found.notes:
        print(f"guardrails: {note}", file=sys.stderr)
    if found.notes:
        print(f"guardrails: validating against {found.guardrails.source}", file=sys.stderr)
    if guardrails.same_limits(found.guardrails, landscape.guardrails):
        return landscape, found
    return config.load_landscape(args.repo, found.guardrails), found
