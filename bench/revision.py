"""Another revision's code for a benchmark's baseline: the reconciler package as it is at a git revision, extracted
with ``git archive`` (the work tree is not touched), so both codes are measured in one run on one machine."""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def require(revisions: list[str]) -> None:
    """Stop before anything is measured when a baseline revision is not in this clone (a shallow or fresh clone
    may lack it): a long benchmark should not fail after its first phases."""
    for revision in revisions:
        found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                               capture_output=True, text=True, check=False)
        if found.returncode != 0:
            raise SystemExit(f"bench: baseline revision {revision!r} is not a commit of {ROOT}; "
                             "fetch it (git fetch --unshallow) or name another with --baseline-rev")


def extract(revision: str, into: Path) -> Path:
    """The reconciler package as it is at ``revision``, under ``into`` (which must not exist yet)."""
    require([revision])
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision, "reconciler"],
                             capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as file:
        file.write(archive)
        file.seek(0)
        with tarfile.open(fileobj=file) as tar:
            tar.extractall(into, filter="data")
    return into
