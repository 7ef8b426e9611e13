"""The pipeline's layers, as the import-linter contracts in pyproject.toml state them: each stage imports only the
stages before it, only reconciler.kube imports the Kubernetes client, and the pure stages never reach a cluster."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def test_the_import_contracts_hold() -> None:
    assert LINT_IMPORTS.exists(), "import-linter is a test dependency (pip install -e '.[dev]')"
    run = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout
