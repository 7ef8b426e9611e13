"""Converge benchmark on one real API server: the reconciler against the physical limit and kubectl.

For N environment targets it measures, in the same run and on the same server, cold converge, no-op reconcile and
one-change reconcile for `reconciler apply`, for the minimal concurrent server-side-apply writer of bench/limit.py
(the limit: the same rendered objects, at the best of several concurrencies), for that writer dry-running every
object first (`checked`: the limit of any writer that keeps "a bad revision changes nothing", cold only) and
optionally for `kubectl apply --server-side -R -f` (slow: over half an hour at 1,000 targets). Each tool gets its
own namespaces, so each starts cold. With --baseline-rev (one or more, comma-separated), the reconciler of another
git revision runs the same phases on a control plane of its own (so every no-op reads only its own objects), each
phase run for every revision before the next phase, and the no-op --repeat times, the revisions taking turns, so
that a busy machine weighs on all of them alike (the median is reported). Every phase is reported in CPU-seconds
(client + kube-apiserver + etcd) and wall time, and as a ratio to each baseline; the write requests are those the
API server counted (apiserver_request_total).

    .venv/bin/python bench/converge.py [--sizes 200,1000] [--phases cold,no-op,one-change]
        [--baselines limit,checked,kubectl] [--concurrency 4,8,16,32] [--reconciler-concurrency 16,8,32]
        [--baseline-rev 608cf84,e4b6ba2] [--repeat 5] [--readme] [--keep]

The control plane runs without a controller manager so that only the clients load the server. --readme rewrites
the table between the bench:converge markers of README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import readme  # noqa: E402
from bench.cost import Cost, measure  # noqa: E402
from bench.revision import extract, require  # noqa: E402
from testenv import build, controlplane  # noqa: E402

RECONCILER = [sys.executable, "-m", "reconciler.cli"]
LIMIT = [sys.executable, str(ROOT / "bench" / "limit.py")]
PHASES = ("cold", "no-op", "one-change")
Runs = dict[str, Cost]

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


def _render(repo: Path, rendered: Path) -> None:
    shutil.rmtree(rendered, ignore_errors=True)
    subprocess.run([*RECONCILER, "render", str(repo), "--out", str(rendered)], check=True, capture_output=True)


def _phases(repo: Path, size: int, prefix: str, phases: list[str], run: Callable[[], Cost],
            before: Callable[[], None] = lambda: None) -> Runs:
    """cold and no-op on the generated repository, then one-change with one environment's GPU quota raised."""
    results: Runs = {}
    for phase in PHASES:
        if phase == "one-change":
            generate(repo, size, prefix, changed=size // 2)
        before()
        if phase in phases or phase == "cold":
            results[phase] = run()  # a later phase needs the cold converge done, measured or not
    return {phase: cost for phase, cost in results.items() if phase in phases}


@dataclasses.dataclass
class Tool:
    """One reconciler measured by the interleaved phases: this tree's, or another revision's on its own server."""

    name: str
    env: controlplane.TestEnv
    repo: Path
    prefix: str
    command: list[str]
    environ: dict[str, str] | None = None


def reconciler_tool(name: str, env: controlplane.TestEnv, work: Path, size: int, concurrency: int,
                    code: Path | None = None, prefix: str = "r") -> Tool:
    """``reconciler apply`` at ``concurrency``; with ``code``, the reconciler package found there (another
    revision's, extracted by :func:`extract`, which may lack ``--in-flight``) instead of this tree's."""
    repo = generate(work / f"ours-{prefix}", size, prefix)
    # -P: `python -m` puts the working directory (this tree, when run from it) on sys.path before PYTHONPATH, so
    # without it a baseline would run this tree's code.
    apply = [*RECONCILER, "apply"] if code is None else [sys.executable, "-P", "-m", "reconciler.cli", "apply"]
    apply += [str(repo), "--kubeconfig", str(env.kubeconfig), "-o", "json"]
    if code is None:
        apply += ["--in-flight", str(concurrency)]
    return Tool(name, env, repo, prefix, apply, {"PYTHONPATH": str(code)} if code is not None else None)


def interleaved_runs(tools: list[Tool], size: int, phases: list[str], repeat: int = 1) -> dict[str, Runs]:
    """Each phase for every tool before the next phase; the no-op ``repeat`` times with the tools taking turns,
    its median (by wall time) reported. A later phase needs the cold converge done, measured or not."""
    results: dict[str, Runs] = {tool.name: {} for tool in tools}
    for phase in PHASES:
        if phase not in phases and phase != "cold":
            continue
        if phase == "one-change":
            for tool in tools:
                generate(tool.repo, size, tool.prefix, changed=size // 2)
        rounds = repeat if phase == "no-op" else 1
        runs: dict[str, list[Cost]] = {tool.name: [] for tool in tools}
        for _ in range(rounds):
            for tool in tools:
                runs[tool.name].append(measure(tool.env, tool.command, tool.environ))
        for tool in tools:
            ordered = sorted(runs[tool.name], key=lambda c: c.wall)
            results[tool.name][phase] = ordered[(len(ordered) - 1) // 2]  # the median run (the lower of two)
            if rounds > 1:
                print(f"  {tool.name} {phase}: " + ", ".join(f"{c.wall:.2f} s / {c.cpu:.2f} CPU-s"
                                                         for c in runs[tool.name]), file=sys.stderr)
    return {name: {p: c for p, c in runs_of.items() if p in phases} for name, runs_of in results.items()}


def reconciler_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str], concurrency: int,
                    code: Path | None = None, prefix: str = "r") -> Runs:
    """The phases of one reconciler alone (see :func:`interleaved_runs`)."""
    tool = reconciler_tool("reconciler", env, work, size, concurrency, code, prefix)
    return interleaved_runs([tool], size, phases)["reconciler"]


def retuned(work: Path, size: int, levels: list[int], keep: bool) -> dict[int, Cost]:
    """Cold converges at other concurrencies, each on a control plane of its own: a converge lists every object
    labelled as the reconciler's, so on the shared server it would also read what the other runs wrote."""
    tried: dict[int, Cost] = {}
    for level in levels:
        with _server(work / f"cluster-{level}", keep) as env:
            tried[level] = reconciler_runs(env, work, size, ["cold"], level, prefix=f"t{level}")["cold"]
        print(f"  reconciler, concurrency {level}: {tried[level].wall:.2f} s, {tried[level].cpu:.2f} CPU-s",
              file=sys.stderr)
    return tried


def limit_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str],
               levels: list[int], checked: bool) -> tuple[Runs, Runs, int]:
    """The minimal writer at each concurrency (each on namespaces of its own, cold); the best wall time wins and
    goes on to the later phases. With ``checked``, the same writer at the winning concurrency that dry-runs every
    object first (the limit of a writer that keeps the rule "a bad revision changes nothing"): cold only."""
    tried: dict[int, tuple[Cost, Path, list[str]]] = {}
    for level in levels:
        tried[level] = _limit(env, work, size, f"l{level}", level)
        cost = tried[level][0]
        print(f"  limit writer, concurrency {level}: {cost.wall:.2f} s, {cost.cpu:.2f} CPU-s", file=sys.stderr)
    level = min(tried, key=lambda one: tried[one][0].wall)
    cold, repo, command = tried[level]
    runs: Runs = {"cold": cold}
    if "no-op" in phases:
        runs["no-op"] = measure(env, command)
    if "one-change" in phases:
        generate(repo, size, repo.name, changed=size // 2)
        _render(repo, Path(command[len(LIMIT)]))
        runs["one-change"] = measure(env, command)
    dry_run_first: Runs = {}
    if checked and "cold" in phases:
        dry_run_first["cold"] = _limit(env, work, size, f"c{level}", level, "--dry-run-first")[0]
    return {p: c for p, c in runs.items() if p in phases}, dry_run_first, level


def _limit(env: controlplane.TestEnv, work: Path, size: int, prefix: str, level: int,
           *flags: str) -> tuple[Cost, Path, list[str]]:
    repo = generate(work / prefix, size, prefix)
    rendered = work / f"{prefix}-rendered"
    command = [*LIMIT, str(rendered), str(env.kubeconfig), "bench", str(level), *flags]
    _render(repo, rendered)
    return measure(env, command), repo, command


def kubectl_runs(env: controlplane.TestEnv, work: Path, size: int, phases: list[str]) -> Runs:
    repo = generate(work / "theirs", size, "k")
    rendered = work / "rendered"
    apply = ["kubectl", "--kubeconfig", str(env.kubeconfig), "--context", "bench", "apply", "--server-side",
             "--field-manager=bench-kubectl", "-R", "-f", str(rendered)]
    return _phases(repo, size, "k", phases, lambda: measure(env, apply), before=lambda: _render(repo, rendered))


def _ratio(ours: Cost, base: Cost | None) -> str:
    if base is None:
        return "n/a"
    cpu = ours.cpu / base.cpu if base.cpu else 0.0
    wall = ours.wall / base.wall if base.wall else 0.0
    return f"{cpu:.2f}x / {wall:.2f}x"


Row = tuple[int, str, Cost, dict[str, Cost]]  # size, phase, the reconciler's cost, each baseline's cost


def table(rows: list[Row], baselines: list[str]) -> str:
    head = "| targets | phase | reconciler CPU-s (client + server) | wall s | writes |"
    rule = "|---:|---|---:|---:|---:|"
    for name in baselines:
        head += f" {name} CPU-s | wall s | vs {name} (CPU / wall) |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for size, phase, ours, measured in rows:
        line = (f"| {size:,} | {phase} | {ours.client_cpu:.1f} + {ours.server_cpu:.1f} | {ours.wall:.1f} | "
                f"{ours.writes:,} |")
        for name in baselines:
            base = measured.get(name)
            line += (f" {base.cpu:.1f} | {base.wall:.1f} |" if base else " n/a | n/a |") + f" {_ratio(ours, base)} |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,1000", help="comma-separated numbers of environment targets")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--baselines", default="limit,checked",
                        help="comma-separated, of limit, checked (the limit writer dry-running first), kubectl (slow)")
    parser.add_argument("--concurrency", default="4,8,16,32", help="the minimal writer's concurrencies to try")
    parser.add_argument("--reconciler-concurrency", default="32", help="apply --in-flight of the measured runs; "
                        "further comma-separated values are tried on a cold converge after them")
    parser.add_argument("--baseline-rev", default="", help="also measure the reconciler of these git revisions "
                        "(comma-separated), each on a control plane of its own (e.g. 608cf84,e4b6ba2)")
    parser.add_argument("--repeat", type=int, default=1, help="no-op runs per reconciler, the revisions taking "
                        "turns; the median is reported")
    parser.add_argument("--readme", action="store_true", help="rewrite the results table in README.md")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and the server's logs")
    args = parser.parse_args()
    phases = [{"noop": "no-op"}.get(p, p) for p in args.phases.split(",") if p]
    baselines = set(args.baselines.split(",")) - {""}
    unknown = (set(phases) - set(PHASES)) | (baselines - {"limit", "checked", "kubectl"})
    if unknown:
        parser.error(f"unknown phase or baseline: {', '.join(sorted(unknown))}")
    levels = [int(c) for c in args.reconciler_concurrency.split(",")]
    require([rev for rev in args.baseline_rev.split(",") if rev])
    rows: list[Row] = []
    notes: list[str] = []
    for size in (int(s) for s in args.sizes.split(",")):
        ours, measured, note = _size(size, phases, baselines, levels, args)
        rows.extend((size, phase, ours[phase], {name: runs[phase] for name, runs in measured.items()
                                                if phase in runs}) for phase in phases)
        notes.append(note)
    revisions = [f"reconciler@{rev}" for rev in args.baseline_rev.split(",") if rev]
    names = [name for name in ("limit", "checked limit", "kubectl", *revisions) if any(name in row[3] for row in rows)]
    text = table(rows, names) + "\n\n" + "\n".join(notes)
    print(text)
    if args.readme:
        readme.rewrite("converge", text)


def _size(size: int, phases: list[str], baselines: set[str], levels: list[int],
          args: argparse.Namespace) -> tuple[Runs, dict[str, Runs], str]:
    """Every run of one size: the reconciler and each baseline revision, each on an API server of its own, phase
    by phase; then the limit writer (and kubectl) on the reconciler's server."""
    measured: dict[str, Runs] = {}
    work = Path(tempfile.mkdtemp(prefix=f"bench-converge-{size}-"))
    note = f"{size:,} targets: reconciler at concurrency {levels[0]}"
    if args.repeat > 1 and "no-op" in phases:
        note += f"; no-op: median of {args.repeat} runs, the revisions taking turns"
    try:
        with contextlib.ExitStack() as servers:
            env = servers.enter_context(_server(work / "cluster", args.keep))
            tools = [reconciler_tool("reconciler", env, work, size, levels[0])]
            for index, revision in enumerate(rev for rev in args.baseline_rev.split(",") if rev):
                code = extract(revision, work / f"baseline-{index}")
                other = servers.enter_context(_server(work / f"cluster-baseline-{index}", args.keep))
                tools.append(reconciler_tool(f"reconciler@{revision}", other, work, size, levels[0], code,
                                             prefix=f"b{index}"))
            print(f"N={size}: {', '.join(tool.name for tool in tools)} ...", file=sys.stderr, flush=True)
            runs = interleaved_runs(tools, size, phases, args.repeat)
            ours = runs.pop("reconciler")
            measured.update(runs)
            if "limit" in baselines or "checked" in baselines:
                print(f"N={size}: minimal writer ...", file=sys.stderr, flush=True)
                tried = [int(c) for c in args.concurrency.split(",")]
                limit, checked, level = limit_runs(env, work, size, phases, tried, "checked" in baselines)
                if "limit" in baselines:
                    measured["limit"] = limit
                if checked:
                    measured["checked limit"] = checked
                note += f"; limit writer at its best concurrency of {args.concurrency}: {level}"
            if "kubectl" in baselines:
                print(f"N={size}: kubectl apply --server-side ...", file=sys.stderr, flush=True)
                measured["kubectl"] = kubectl_runs(env, work, size, phases)
        if len(levels) > 1:
            others = retuned(work, size, levels[1:], args.keep)
            note += "; cold at other concurrencies (each on a server of its own): " + ", ".join(
                f"{other}: {cost.cpu:.1f} CPU-s, {cost.wall:.1f} s" for other, cost in others.items())
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return ours, measured, note + "."


@contextlib.contextmanager
def _server(directory: Path, keep: bool) -> Iterator[controlplane.TestEnv]:
    """The API server alone, as measured before nodes existed: no controllers, scheduler or simulated nodes."""
    binaries = dataclasses.replace(build.ensure(lambda _: None), kube_controller_manager=None, kube_scheduler=None,
                                   kwok=None)
    env = controlplane.up(["bench"], directory, binaries=binaries, log=lambda _: None)
    try:
        yield env
    finally:
        controlplane.down(env, keep=keep)


if __name__ == "__main__":
    main()
