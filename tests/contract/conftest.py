"""The real Polyaxon: its package from PyPI, in a virtualenv of its own (it pins other versions of libraries the
reconciler uses, such as kubernetes), cached beside the control-plane binaries and made once per machine."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The release of the agent image the sample repository deploys (polyaxon/polyaxon-agent:2.15.1).
POLYAXON_VERSION = "2.15.1"


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "reconciler" / f"polyaxon-{POLYAXON_VERSION}"


@pytest.fixture(scope="session")
def polyaxon_python() -> Path:
    """The Python of a virtualenv that has `polyaxon` installed."""
    directory = _cache()
    python, stamp = directory / "venv" / "bin" / "python", directory / ".complete"
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installation at a time, even from two test runs
        if not stamp.is_file():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(directory / "venv")], check=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", f"polyaxon=={POLYAXON_VERSION}"]
            installed = subprocess.run(pip, capture_output=True, text=True)
            if installed.returncode != 0:
                pytest.fail(f"pip could not install polyaxon=={POLYAXON_VERSION} into {directory}:\n"
                            f"{installed.stderr[-2000:]}", pytrace=False)
            stamp.write_text(POLYAXON_VERSION + "\n")
    return python
