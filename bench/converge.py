"""Converge benchmark on one real API server: the reconciler against `kubectl apply --server-side`.

For N environment targets (default 200 and 1000) it measures, in the same run and on the same server:
cold converge, no-op reconcile and one-change reconcile — wall time and the write requests the API server counted
(apiserver_request_total) — for `reconciler apply` and for `kubectl apply --server-side -R -f` over
`reconciler render --out` of an identical repository (other namespaces, so both start cold).

    .venv/bin/python bench/converge.py [--sizes 200,1000] [--keep]

The control plane runs without a controller manager so that only the two clients load the server.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testenv import build, controlplane  # noqa: E402

RECONCILER = [sys.executable, "-m", "reconciler.cli"]
KINDS = ("namespaces", "serviceaccounts", "roles", "rolebindings", "limitranges", "resourcequotas",
         "networkpolicies", "configmaps", "deployments")
_METRIC = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')

HEADER = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {{name: {platform}}}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {{namespace: polyaxon}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {{name: bench}}
spec:
  connection: {{context: bench}}
  nodePools:
    cpu: {{nodeSelector: {{pool: cpu}}}}
    a100:
      gpu: true
      nodeSelector: {{gpu: a100}}
      tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: research}}
spec: {{groups: ["oidc:ml-research"]}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {{name: platform}}
spec: {{groups: ["oidc:platform"]}}
---
apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {{name: standard}}
spec:
  quota: {{cpu: "16", memory: 64Gi, gpu: 2, pods: 100}}
  limits: {{defaultRequest: {{cpu: 250m, memory: 512Mi}}, default: {{cpu: "1", memory: 2Gi}}}}
  network: isolated
  access: [{{team: platform, role: admin}}, {{team: research, role: edit}}]
  agent:
    image: polyaxon/polyaxon-agent:2.15.1
    nodePool: cpu
    tokenSecret: {{name: agent-token}}
    queues:
      - {{name: default, concurrency: 4, nodePool: cpu}}
      - {{name: training, concurrency: 2, nodePool: a100}}
"""

ENVIRONMENT = """---
apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: env-{i:04d}}}
spec:
  extends: [standard]
  targets: [{{cluster: bench, namespace: {prefix}-{i:04d}}}]
  quota: {{gpu: {gpu}}}
"""


def generate(directory: Path, size: int, prefix: str, changed: int | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "platform.yaml").write_text(HEADER.format(platform=f"bench-{prefix}"))
    environments = "".join(
        ENVIRONMENT.format(i=i, prefix=prefix, gpu=3 if i == changed else 2) for i in range(size)
    )
    (directory / "environments.yaml").write_text(environments)
    return directory


def writes(env: controlplane.TestEnv) -> int:
    output = subprocess.run(
        ["kubectl", "--kubeconfig", str(env.kubeconfig), "--context", "bench", "get", "--raw", "/metrics"],
        check=True, capture_output=True, text=True,
    ).stdout
    total = 0
    for line in output.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = {k: v.strip('"') for k, v in (p.split("=", 1) for p in match["labels"].split(","))}
        if labels.get("verb") in ("APPLY", "PATCH", "POST", "PUT", "DELETE") and labels.get("resource") in KINDS \
                and labels.get("subresource", "") == "":
            total += int(float(match["value"]))
    return total


def timed(env: controlplane.TestEnv, command: list[str]) -> tuple[float, int]:
    before = writes(env)
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    return elapsed, writes(env) - before


def reconciler_runs(env: controlplane.TestEnv, work: Path, size: int) -> dict[str, tuple[float, int]]:
    repo = generate(work / "ours", size, "r")
    apply = [*RECONCILER, "apply", str(repo), "--kubeconfig", str(env.kubeconfig), "-o", "json"]
    results = {"cold": timed(env, apply), "no-op": timed(env, apply)}
    generate(repo, size, "r", changed=size // 2)
    results["one change"] = timed(env, apply)
    return results


def kubectl_runs(env: controlplane.TestEnv, work: Path, size: int) -> dict[str, tuple[float, int]]:
    repo = generate(work / "theirs", size, "k")
    rendered = work / "rendered"

    def render() -> None:
        shutil.rmtree(rendered, ignore_errors=True)
        subprocess.run([*RECONCILER, "render", str(repo), "--out", str(rendered)], check=True, capture_output=True)

    apply = ["kubectl", "--kubeconfig", str(env.kubeconfig), "--context", "bench", "apply", "--server-side",
             "--field-manager=bench-kubectl", "-R", "-f", str(rendered)]
    render()
    results = {"cold": timed(env, apply), "no-op": timed(env, apply)}
    generate(repo, size, "k", changed=size // 2)
    render()
    results["one change"] = timed(env, apply)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000", help="comma-separated numbers of environment targets")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the server's logs")
    args = parser.parse_args()
    # The API server alone, as measured before nodes existed: no controllers, scheduler or simulated nodes.
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        work = Path(tempfile.mkdtemp(prefix=f"bench-converge-{size}-"))
        env = controlplane.up(["bench"], work / "cluster", binaries=binaries, log=lambda _: None)
        try:
            print(f"N={size}: reconciler ...", file=sys.stderr, flush=True)
            ours = reconciler_runs(env, work, size)
            print(f"N={size}: kubectl apply --server-side ...", file=sys.stderr, flush=True)
            theirs = kubectl_runs(env, work, size)
        finally:
            controlplane.down(env, keep=args.keep)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        for phase in ("cold", "no-op", "one change"):
            (t_ours, w_ours), (t_kc, w_kc) = ours[phase], theirs[phase]
            rows.append((size, phase, t_ours, w_ours, t_kc, w_kc, t_kc / t_ours if t_ours else 0.0))
    print()
    print(f"{'N':>5}  {'phase':<10}  {'reconciler s':>12}  {'writes':>7}  {'kubectl s':>10}  {'writes':>7}  "
          f"{'speed-up':>8}")
    for size, phase, t_ours, w_ours, t_kc, w_kc, ratio in rows:
        print(f"{size:>5}  {phase:<10}  {t_ours:>12.2f}  {w_ours:>7}  {t_kc:>10.2f}  {w_kc:>7}  {ratio:>7.1f}x")


if __name__ == "__main__":
    main()
