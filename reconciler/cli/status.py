"""`reconciler status`: the landscape in the terminal, from a running controller's /status or, without one, from
what the clusters record (:mod:`reconciler.cli.status_clusters`).

Both sources give the /status shape, so one renderer (reconciler.report.status_text) prints them alike. The
Kubernetes client is loaded only to read the clusters (``--kubeconfig``), never for ``--url``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from reconciler.cli import flags as cli_flags
from reconciler.cli.exits import EXIT_OK, EXIT_PENDING
from reconciler.errors import ReconcilerError

Snapshot = dict[str, Any]
TIMEOUT_SECONDS = 10


def add_command(commands: cli_flags.Commands) -> None:
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
    status.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from reconciler.report import status_text

    if args.url:
        snapshot = from_url(args.url)
    else:
        from reconciler.cli import status_clusters

        snapshot = status_clusters.from_clusters(args.kubeconfig, args.context, args.platform)
    if args.output == "json":
        print(json.dumps(snapshot, indent=1, sort_keys=True))
    else:
        print(status_text.render(snapshot), end="")
    return EXIT_OK if status_text.settled(snapshot) else EXIT_PENDING


def from_url(url: str) -> Snapshot:
    """GET URL/status of a running controller (URL may end in /status already)."""
    import urllib.error  # HTTP and TLS cost more to load than a small command's whole run: only status pays
    import urllib.request

    address = url.rstrip("/")
    address = address if address.endswith("/status") else address + "/status"
    try:
        with urllib.request.urlopen(address, timeout=TIMEOUT_SECONDS) as response:
            document: Snapshot = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ReconcilerError(f"{address} answered {exc.code} {exc.reason}: is --url the controller's "
                              "address (its --listen, e.g. http://reconciler.reconciler-system:8080)?") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ReconcilerError(f"cannot reach the controller at {address}: {reason}. Check --url, or read the "
                              "clusters directly with --kubeconfig") from exc
    except ValueError as exc:
        raise ReconcilerError(f"{address} did not answer with the controller's JSON status: {exc}") from exc
    if not isinstance(document, dict) or "clusters" not in document:
        raise ReconcilerError(f"{address} is not a reconciler's /status (no \"clusters\" in it)")
    return document
