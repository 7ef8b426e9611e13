"""Converge benchmark: N environment targets with Kueue objects against the same N without, on one API server.

The same repository twice (other namespaces and Platforms, so both start cold): once with quota enforced by
ResourceQuota, once by Kueue, where every target adds a ClusterQueue and two LocalQueues and the cluster two
ResourceFlavors. Kueue's CRDs are installed (from testenv's Kueue cache), its manager is not: the reconciler's
own cost is measured, not Kueue's admission work. Cold converge and no-op reconcile, wall time.

    .venv/bin/python bench/kueue.py [--size 1000] [--keep]
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.converge import ENVIRONMENT, HEADER, RECONCILER  # noqa: E402
from bench.cost import measure  # noqa: E402
from testenv import build, clients, controlplane, kueue  # noqa: E402

KUEUE = """  kueue:
    pools: {{cpu: {{cpu: "16", memory: 64Gi}}, a100: {{gpu: {gpu}, cpu: "32", memory: 128Gi}}}}
"""


def generate(directory: Path, size: int, prefix: str, with_kueue: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    header = HEADER.format(platform=f"bench-{prefix}")
    if with_kueue:
        header = header.replace("  controlPlane:", "  quotaEnforcement: Kueue\n  controlPlane:", 1)
    (directory / "platform.yaml").write_text(header)
    environments = "".join(
        ENVIRONMENT.format(i=i, prefix=prefix, gpu=2) + (KUEUE.format(gpu=2) if with_kueue else "")
        for i in range(size)
    )
    (directory / "environments.yaml").write_text(environments)
    return directory


def runs(env: controlplane.TestEnv, repo: Path) -> dict[str, float]:
    apply = [*RECONCILER, "apply", str(repo), "--kubeconfig", str(env.kubeconfig), "-o", "json"]
    return {"cold": measure(env, apply).wall, "no-op": measure(env, apply).wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1000, help="number of environment targets")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the server's logs")
    args = parser.parse_args()
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    built = build.ensure_kueue(lambda _: None)
    work = Path(tempfile.mkdtemp(prefix=f"bench-kueue-{args.size}-"))
    env = controlplane.up(["bench"], work / "cluster", binaries=binaries, log=lambda _: None)
    try:
        api = clients.api_client(env, "bench")
        kueue.install_crds(api, built)
        api.close()  # type: ignore[no-untyped-call]
        without = runs(env, generate(work / "without", args.size, "q", with_kueue=False))
        with_kueue = runs(env, generate(work / "with", args.size, "k", with_kueue=True))
    finally:
        controlplane.down(env, keep=args.keep)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'N':>5}  {'phase':<6}  {'without Kueue s':>15}  {'with Kueue s':>12}  {'ratio':>6}")
    for phase in ("cold", "no-op"):
        ratio = with_kueue[phase] / without[phase] if without[phase] else 0.0
        print(f"{args.size:>5}  {phase:<6}  {without[phase]:>15.2f}  {with_kueue[phase]:>12.2f}  {ratio:>5.2f}x")


if __name__ == "__main__":
    main()
