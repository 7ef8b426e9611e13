"""Command-line start-up: `reconciler validate sample-repo` (the pre-commit hook's command) beside baselines measured in
the same run, so a busy machine slows all of them alike: an empty interpreter (`python -c pass`) and one that only
imports what validation cannot do without (`import yaml, jsonschema`). Each figure is the best of N runs, in wall
time and in CPU-seconds of the child process (user + system, which load on the machine hardly changes). Also says
whether validate loaded the Kubernetes client (it should not: only commands that reach a cluster do).

    .venv/bin/python bench/startup.py [--runs 10] [--before DIR]

``--before DIR`` adds validate as another revision's source tree runs it, in the same run, e.g.
``git archive main reconciler | tar -x -C /tmp/main`` and ``--before /tmp/main``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import sys; from reconciler.cli.main import main; code = main(sys.argv[1:]); "
         "print('kubernetes' in sys.modules); sys.exit(code)")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    'python -c "import yaml, jsonschema"': [sys.executable, "-c", "import yaml, jsonschema"],
    "reconciler validate sample-repo": [sys.executable, "-c", PROBE, "validate", str(ROOT / "sample-repo")],
    "reconciler --help": [sys.executable, "-c", PROBE, "--help"],
}


@dataclass(frozen=True)
class Run:
    wall: float
    cpu: float
    stdout: str


def _once(command: list[str], env: dict[str, str] | None = None) -> Run:
    before = os.times()
    start = time.perf_counter()
    # Outside the source tree: `python -c` puts the working directory first on sys.path, before PYTHONPATH.
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Run(wall, cpu, done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--before", type=Path, metavar="DIR", help="a source tree (holding reconciler/) to compare")
    args = parser.parse_args()
    commands: dict[str, tuple[list[str], dict[str, str] | None]] = {
        name: (command, None) for name, command in COMMANDS.items()}
    if args.before:
        commands[f"validate as {args.before} runs it"] = (
            COMMANDS["reconciler validate sample-repo"], {**os.environ, "PYTHONPATH": str(args.before.resolve())})
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved, so a burst of load on the machine hits every command alike
        for name, (command, env) in commands.items():
            runs[name].append(_once(command, env))
    width = max(len(name) for name in commands)
    print(f"{'command':<{width}}  {'wall best':>9}  {'wall median':>11}  {'CPU-s best':>10}  {'CPU-s median':>12}")
    for name, measured in runs.items():
        walls = sorted(r.wall for r in measured)
        cpus = sorted(r.cpu for r in measured)
        print(f"{name:<{width}}  {walls[0]:>9.3f}  {walls[len(walls) // 2]:>11.3f}  {cpus[0]:>10.3f}  "
              f"{cpus[len(cpus) // 2]:>12.3f}")
    imported = runs["reconciler validate sample-repo"][-1].stdout.strip().splitlines()[-1] == "True"
    print(f"best of {args.runs} runs each; validate loaded the Kubernetes client: {'yes' if imported else 'no'}")


if __name__ == "__main__":
    main()
