"""Releasing a held revision outside git: the approvals file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.controller import hold_base
from reconciler.errors import ReconcilerError

COMMIT = "9b2e6f0c41d8a7e5b3c2f1e0d9c8b7a6f5e4d3c2"


def test_a_commit_is_approved_by_its_id_or_a_prefix_of_twelve_digits(tmp_path: Path) -> None:
    approvals = tmp_path / "approvals"
    approvals.write_text(f"# released after review\n{COMMIT[:12]}  # allow ml-operator\n")
    assert hold_base.approved(approvals, COMMIT)
    approvals.write_text(f"{COMMIT.upper()}\n")
    assert hold_base.approved(approvals, COMMIT)


@pytest.mark.parametrize("text", ["", f"{COMMIT[:11]}\n", f"# {COMMIT}\n", "0" * 40 + "\n", f"x{COMMIT}\n"])
def test_short_prefixes_comments_and_other_commits_approve_nothing(tmp_path: Path, text: str) -> None:
    approvals = tmp_path / "approvals"
    approvals.write_text(text)
    assert not hold_base.approved(approvals, COMMIT)


def test_without_a_file_nothing_is_approved_and_an_unreadable_one_says_so(tmp_path: Path) -> None:
    assert not hold_base.approved(None, COMMIT)
    with pytest.raises(ReconcilerError, match=r"--approvals .*missing: cannot read it"):
        hold_base.approved(tmp_path / "missing", COMMIT)
