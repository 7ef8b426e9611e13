"""Command-line start-up: the wall time of `reconciler validate` on a one-environment repository, best of N runs,
and whether the command imported the Kubernetes client (it should not: only commands that reach a cluster do).

    .venv/bin/python bench/startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import sys; from reconciler import cli; cli.main(sys.argv[1:]); print('kubernetes' in sys.modules)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    command = [sys.executable, "-c", PROBE, "validate", str(ROOT / "sample-repo")]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
    imported = done.stdout.strip().splitlines()[-1] == "True"
    print(f"reconciler validate sample-repo: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s "
          f"over {args.runs} runs; Kubernetes client imported: {'yes' if imported else 'no'}")


if __name__ == "__main__":
    main()
