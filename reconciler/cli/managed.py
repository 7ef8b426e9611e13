"""A laptop ``apply`` must not silently revert the in-cluster controller: onto a target whose inventory says the
controller applied it, the CLI writes only a revision that contains the controller's (it is at least as new),
unless ``--force``."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from reconciler.plan.inventory import Inventory

Guard = Callable[[Inventory | None], str | None]


def _git(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(repo), *argv], capture_output=True, text=True, check=False)


def head_revision(repo: Path) -> str:
    """The commit the repository's work tree is at, or "" outside git."""
    done = _git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
    return done.stdout.strip() if done.returncode == 0 else ""


def _contains(repo: Path, revision: str, applied: str) -> bool:
    return bool(revision) and _git(repo, "merge-base", "--is-ancestor", applied, revision).returncode == 0


def guard(repo: Path, revision: str) -> Guard:
    """Refuses targets the controller applied at a revision that ``revision`` does not contain."""
    def check(inventory: Inventory | None) -> str | None:
        if inventory is None or inventory.applied_by != "controller" or not inventory.revision:
            return None
        if _contains(repo, revision, inventory.revision):
            return None
        this = f"revision {revision[:12]}" if revision else "a work tree outside git"
        return (f"managed by the in-cluster controller, which applied revision {inventory.revision[:12]} at "
                f"{inventory.applied_at}; this apply ({this}) does not contain it and would revert it. Merge your "
                "change into the branch the controller follows, pull it, or pass --force to apply anyway (the "
                "controller converges its own revision again at its next sync)")
    return check
