"""Benchmark of `reconciler diff` on a generated environments repository of N environments (default 1,000).

The repository (one file per environment, as teams usually keep them) gets a base commit and two head commits:
one that changes a single environment's quota, and one that changes the shared profile, which fans out to every
environment. Each diff is timed end to end, in-process (read git, validate, resolve, render both revisions,
compare, assess, format Markdown) and as a subprocess of the CLI, next to a baseline: rendering the head alone
(`reconciler render`). Figures are the best of a few runs.

    .venv/bin/python bench/diff.py [--environments 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reconciler.config import load_landscape  # noqa: E402
from reconciler.plan import diff  # noqa: E402
from reconciler.plan.revisions import load_revisions  # noqa: E402
from reconciler.render import render_landscape  # noqa: E402
from reconciler.report import diff as report_diff  # noqa: E402

RECONCILER = [sys.executable, "-m", "reconciler.cli"]
TARGET_SECONDS = 5.0

PLATFORM = """apiVersion: reconciler.dev/v1alpha1
kind: Platform
metadata: {name: bench}
spec:
  allowedClusterRoles: [view, edit, admin]
  controlPlane: {namespace: polyaxon}
  risk:
    environments:
      env-0000: {access-widened: block}
---
apiVersion: reconciler.dev/v1alpha1
kind: Cluster
metadata: {name: bench}
spec:
  connection: {context: bench}
  nodePools:
    cpu: {nodeSelector: {pool: cpu}}
    a100:
      gpu: true
      nodeSelector: {gpu: a100}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {name: research}
spec: {groups: ["oidc:ml-research"]}
---
apiVersion: reconciler.dev/v1alpha1
kind: Team
metadata: {name: platform}
spec: {groups: ["oidc:platform"]}
"""

PROFILE = """apiVersion: reconciler.dev/v1alpha1
kind: Profile
metadata: {{name: standard}}
spec:
  quota: {{cpu: "16", memory: 64Gi, gpu: 2, pods: 100}}
  limits: {{defaultRequest: {{cpu: 250m, memory: 512Mi}}, default: {{cpu: "1", memory: 2Gi}}}}
  network: isolated
  access: [{{team: platform, role: admin}}, {{team: research, role: view}}]
  agent:
    image: polyaxon/polyaxon-agent:{version}
    nodePool: cpu
    tokenSecret: {{name: agent-token}}
    queues:
      - {{name: default, concurrency: 4, nodePool: cpu}}
      - {{name: training, concurrency: 2, nodePool: a100}}
"""

ENVIRONMENT = """apiVersion: reconciler.dev/v1alpha1
kind: Environment
metadata: {{name: env-{i:04d}}}
spec:
  extends: [standard]
  protected: {protected}
  targets: [{{cluster: bench, namespace: ml-{i:04d}}}]
  quota: {{gpu: {gpu}}}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _environment(repo: Path, i: int, gpu: int = 2) -> None:
    (repo / "environments" / f"env-{i:04d}.yaml").write_text(
        ENVIRONMENT.format(i=i, gpu=gpu, protected="true" if i % 100 == 0 else "false"))


def generate(repo: Path, size: int) -> dict[str, str]:
    """The repository with its commits: base, one environment changed, then the profile changed."""
    (repo / "environments").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    (repo / "platform.yaml").write_text(PLATFORM)
    (repo / "profile.yaml").write_text(PROFILE.format(version="2.15.1"))
    for i in range(size):
        _environment(repo, i)
    commits = {"base": _commit(repo, "base")}
    _environment(repo, size // 2, gpu=1)
    commits["one environment"] = _commit(repo, "lower one quota")
    (repo / "profile.yaml").write_text(PROFILE.format(version="2.16.0"))
    commits["profile (all environments)"] = _commit(repo, "new agent version for everyone")
    return commits


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def in_process(repo: Path, base: str, head: str) -> str:
    result = diff.compare(load_revisions(repo, base, head))
    return report_diff.markdown(result)


def command(repo: Path, *args: str, ok: tuple[int, ...] = (0,)) -> None:
    completed = subprocess.run([*RECONCILER, *args], cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    if completed.returncode not in ok:
        raise SystemExit(f"failed ({completed.returncode}): {' '.join(args)}\n{completed.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        repo = Path(work) / "envs"
        commits = generate(repo, options.environments)
        base = commits["base"]
        print(f"{options.environments} environments, 1 target each, one file each "
              f"(best of {options.runs} runs, seconds)")
        print(f"{'':40} {'in-process':>11} {'subprocess':>11}")
        render_in = best(options.runs, lambda: render_landscape(load_landscape(repo)))
        render_cli = best(options.runs, lambda: command(repo, "render", ".", "-o", "json"))
        print(f"{'baseline: render HEAD (work tree)':40} {render_in:11.2f} {render_cli:11.2f}")
        slowest = 0.0
        for label, head in list(commits.items())[1:]:
            seconds_in = best(options.runs, lambda head=head: in_process(repo, base, head))  # type: ignore[misc]
            seconds_cli = best(options.runs, lambda head=head: command(  # type: ignore[misc]
                repo, "diff", ".", "--base", base, "--head", head, "-o", "markdown", ok=(0, 3)))
            slowest = max(slowest, seconds_cli)
            print(f"{'diff, change: ' + label:40} {seconds_in:11.2f} {seconds_cli:11.2f}")
        verdict = "within" if slowest < TARGET_SECONDS else "OVER"
        print(f"slowest diff: {slowest:.2f} s, {verdict} the {TARGET_SECONDS:.0f} s target")


if __name__ == "__main__":
    main()
