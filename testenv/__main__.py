"""Command line: ``python -m testenv {build,up,down,status,stop,start}`` (``scripts/testenv`` runs it)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from testenv import build, controlplane, nodes, users

DEFAULT_DIR = Path(__file__).resolve().parent.parent / ".state" / "testenv"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (build.BuildError, controlplane.ControlPlaneError, ValueError, KeyError) as error:  # DescriptionError too
        print(f"testenv: {error}", file=sys.stderr)
        return 1


def _build(args: argparse.Namespace) -> int:
    binaries = build.ensure()
    print(f"kube-apiserver          {binaries.kube_apiserver}")
    print(f"kube-controller-manager {binaries.kube_controller_manager or '(none)'}")
    print(f"etcd                    {binaries.etcd}")
    print(f"kube-scheduler          {binaries.kube_scheduler or '(none)'}")
    print(f"kwok                    {binaries.kwok.binary if binaries.kwok else '(none)'}")
    print(f"kubectl                 {binaries.kubectl or '(none)'}")
    return 0


def _up(args: argparse.Namespace) -> int:
    names = [name.strip() for name in args.clusters.split(",") if name.strip()]
    members = users.read_members(args.users) if args.users else None
    began = time.monotonic()
    description = nodes.load(args.nodes)
    env = controlplane.up(names, args.dir, members=members, node_description=description, timeout=args.timeout)
    for cluster in env.clusters.values():
        print(f"{cluster.name:12} {cluster.server}  (context {cluster.context})")
    print(f"kubeconfig   {env.kubeconfig}   (admin; contexts {', '.join(env.clusters)})")
    print(f"users        {env.directory / controlplane.USERS}   (tokens; kubeconfig {env.users_kubeconfig})")
    print(f"started in {time.monotonic() - began:.1f}s; stop with: scripts/testenv down --dir {env.directory}")
    return 0


def _down(args: argparse.Namespace) -> int:
    env = controlplane.load(args.dir)
    controlplane.down(env, keep=args.keep)
    print(f"stopped {', '.join(env.clusters)}" + (f"; state kept in {env.directory}" if args.keep else ""))
    return 0


def _status(args: argparse.Namespace) -> int:
    env = controlplane.load(args.dir)
    all_ready = True
    for cluster in controlplane.status(env):
        all_ready &= cluster.ready
        pids = "  ".join(
            f"{name} {pid} {'alive' if alive else 'DEAD'}" if pid else f"{name} stopped"
            for name, (pid, alive) in cluster.pids.items()
        )
        print(f"{cluster.name:12} {cluster.server}  {'ready' if cluster.ready else 'NOT READY'}  {pids}")
    return 0 if all_ready else 1


def _stop(args: argparse.Namespace) -> int:
    controlplane.stop_component(controlplane.load(args.dir), args.cluster, args.component)
    return 0


def _start(args: argparse.Namespace) -> int:
    controlplane.start_component(controlplane.load(args.dir), args.cluster, args.component, args.timeout)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testenv", description="Real Kubernetes control planes for tests.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run: object, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        if name != "build":
            sub.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})")
        return sub

    command("build", _build, "build the binaries into the cache, or find them (KUBEBUILDER_ASSETS, cache)")
    up = command("up", _up, "start one control plane per cluster name; return when all are ready")
    up.add_argument("--clusters", default="shared,gpu", help="comma-separated names (default shared,gpu)")
    up.add_argument("--users", type=Path, help='JSON file {"alice": ["oidc:ml-research"], ...} (default: built in)')
    up.add_argument("--nodes", type=Path, default=nodes.DEFAULT,
                    help=f"node pools per cluster, YAML (default {nodes.DEFAULT.name}: the sample repository's pools)")
    up.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness (default 90)")
    down = command("down", _down, "stop every process started by `up`; remove the state directory")
    down.add_argument("--keep", action="store_true", help="keep the state directory (logs, data, kubeconfig)")
    command("status", _status, "per cluster: pids alive, API URL, readiness (exit 1 if one is not ready)")
    for name, run, verb in (("stop", _stop, "stop"), ("start", _start, "start again")):
        sub = command(name, run, f"{verb} one component of one cluster (to test an outage)")
        sub.add_argument("cluster")
        sub.add_argument("--component", default=controlplane.APISERVER, choices=list(controlplane.COMPONENTS))
        if name == "start":
            sub.add_argument("--timeout", type=float, default=60.0)
    return parser


if __name__ == "__main__":
    sys.exit(main())
