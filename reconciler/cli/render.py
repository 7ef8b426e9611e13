"""``reconciler render``: the objects as kubectl reads them, one cluster's at a time.

A Kubernetes ``List`` on stdout (``kubectl apply -f -`` takes it); ``--out DIR`` writes a folder per cluster and
says which context each folder is applied to, since one ``kubectl apply -R`` of everything would send every
cluster's objects to the current context."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler import config
from reconciler.cli import flags as cli_flags
from reconciler.cli import guardrails as guardrails_cli
from reconciler.config import contexts
from reconciler.config.model import Cluster

if TYPE_CHECKING:  # the renderer is loaded when render runs, not when the parser is built for every command
    from reconciler.render.objects import Manifest

FORMATS = ("yaml", "json")

EPILOG = """\
examples:
  reconciler render sample-repo --env prod
  reconciler render sample-repo --cluster gpu -o json | kubectl --context gpu apply --dry-run=server -f -
  reconciler render sample-repo --out rendered/        # then the kubectl command it prints for each cluster
  reconciler render sample-repo -o json --split        # {"targets": {"<cluster>/<namespace>": List}}
"""


def output_format(text: str) -> str:
    """``-o`` means an output format on every command; a folder given to it gets pointed at ``--out``."""
    if text in FORMATS:
        return text
    hint = f"; to write files into the folder {text!r}, use --out {text}" if "/" in text or "." in text else ""
    raise argparse.ArgumentTypeError(f"invalid format {text!r} (choose from {', '.join(FORMATS)}){hint}")


def add_command(commands: cli_flags.Commands) -> None:
    render = commands.add_parser(
        "render", help="print the Kubernetes objects each environment target needs",
        description="Render the objects of every environment target (no cluster needed). Output is deterministic: "
        "a Kubernetes List (kubectl apply -f - accepts it). Objects of several clusters belong to several contexts: "
        "render one --cluster at a time for kubectl, or use --out DIR, which writes DIR/<cluster>/<namespace>.yaml "
        "and prints the kubectl command for each cluster's folder.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cli_flags.add_repo(render)
    render.add_argument("--cluster", help="only targets on this cluster")
    render.add_argument("--env", help="only this environment")
    render.add_argument("-o", "--output", type=output_format, default="yaml", metavar="yaml|json",
                        help="output format (default yaml)")
    render.add_argument("--split", action="store_true",
                        help="group by target: one List per <cluster>/<namespace> (JSON: {\"targets\": {...}})")
    render.add_argument("--out", type=Path, metavar="DIR", help="write DIR/<cluster>/<namespace>.yaml")
    cli_flags.add_context(render)
    guardrails_cli.add_argument(render)
    render.set_defaults(handler=run)


def as_list(objects: list[Manifest]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": objects}


def _context_of(cluster: Cluster, overrides: dict[str, str]) -> str | None:
    return overrides.get(cluster.name, cluster.connection.context)


def _how_to_apply(landscape: config.Landscape, clusters: list[str], out: Path, overrides: dict[str, str]) -> str:
    lines = ["apply each cluster's folder to that cluster's context:"]
    for name in clusters:
        context = _context_of(landscape.clusters[name], overrides)
        if context is None:
            lines.append(f"  kubectl --context <context of cluster {name}> apply -R -f {out / name}"
                         "   # its Cluster connects in-cluster or through a Secret")
        else:
            lines.append(f"  kubectl --context {context} apply -R -f {out / name}")
    return "\n".join(lines)


def _print(rendered: dict[str, list[Manifest]], form: str, split: bool) -> None:
    from reconciler.render import output

    if split:
        lists = {key: as_list(objects) for key, objects in sorted(rendered.items())}
        if form == "json":
            sys.stdout.write(output.to_json({"targets": lists}))
        else:
            sys.stdout.write("".join(f"# {key}\n{output.to_yaml([value])}" for key, value in lists.items()))
        return
    everything = as_list([o for _, objects in sorted(rendered.items()) for o in objects])
    sys.stdout.write(output.to_json(everything) if form == "json" else output.to_yaml([everything]))


def run(args: argparse.Namespace) -> int:
    from reconciler.render import render_landscape, tree

    landscape = config.load_landscape(args.repo, guardrails_cli.offline(args))
    cli_flags.check_filters(landscape, args.cluster, args.env)
    overrides = contexts.context_overrides(args.context, args.cluster, landscape.clusters)
    rendered = render_landscape(landscape, landscape.select(args.cluster, args.env))
    clusters = sorted({key.split("/", 1)[0] for key in rendered})
    if args.out:
        written, removed = tree.write_tree(rendered, args.out)
        count = sum(len(objects) for objects in rendered.values())
        print(f"wrote {count} objects for {len(rendered)} target(s) in {len(written)} file(s) under {args.out}")
        for path in removed:
            print(f"removed {path}: its target is no longer rendered")
        print(_how_to_apply(landscape, clusters, args.out, overrides))
        return 0
    _print(rendered, args.output, args.split)
    if len(clusters) > 1 and not args.split:
        print(f"note: these objects belong to {len(clusters)} clusters ({', '.join(clusters)}); for kubectl, render "
              "one at a time: reconciler render --cluster NAME | kubectl --context CONTEXT apply -f -",
              file=sys.stderr)
    return 0
