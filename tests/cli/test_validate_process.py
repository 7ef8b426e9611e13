"""``reconciler validate`` as its own process, the way a pre-commit hook runs it: exit 1, every error, no traceback
and no secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.unit.broken_sample import break_sample
from tests.unit.conftest import Repo


def test_a_broken_copy_as_a_separate_process(sample_copy: Repo) -> None:
    expected = break_sample(sample_copy.root)
    script = Path(sys.executable).with_name("reconciler")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "reconciler.cli"]
    result = subprocess.run([*command, "validate", str(sample_copy.root)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[:-1] == expected
    assert "s3cr3t" not in result.stderr
