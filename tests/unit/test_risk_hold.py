"""The controller's hold: the pull request's blocking risk rules, judged against the last accepted revision."""

from __future__ import annotations

from reconciler.config import load_landscape
from reconciler.controller import risk_hold
from tests.unit.conftest import Repo

USAGE = {"gpu/ml-prod": {"requests.cpu": "10", "requests.nvidia.com/gpu": "6"}}


def _edit(repo: Repo, relative: str, old: str, new: str) -> None:
    path = repo.root / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_quota_below_live_usage_is_held(sample_copy: Repo) -> None:
    base = load_landscape(sample_copy.root)
    _edit(sample_copy, "environments/prod.yaml", "gpu: 8", "gpu: 4")
    hold = risk_hold.judge("abc", base, load_landscape(sample_copy.root), USAGE)
    assert hold is not None and [f.rule for f in hold.findings] == ["quota-below-usage"]
    assert hold.reasons()[0].startswith("quota-below-usage (prod, gpu/ml-prod): ")
    assert "revision abc is held" in hold.message() and "a later commit resolves" in hold.message()


def test_access_widened_in_prod_is_held_as_in_the_pull_request(sample_copy: Repo) -> None:
    base = load_landscape(sample_copy.root)
    _edit(sample_copy, "environments/prod.yaml", "{team: vision, role: view}", "{team: vision, role: admin}")
    hold = risk_hold.judge("abc", base, load_landscape(sample_copy.root), {})
    assert hold is not None and {f.rule for f in hold.findings} == {"access-widened"}


def test_warnings_alone_do_not_hold(sample_copy: Repo) -> None:
    base = load_landscape(sample_copy.root)
    _edit(sample_copy, "environments/prod.yaml", "gpu: 8", "gpu: 7")  # lowered, still above the 6 in use
    assert risk_hold.judge("abc", base, load_landscape(sample_copy.root), USAGE) is None
    assert risk_hold.judge("abc", base, base, USAGE) is None


def test_change_windows_are_left_to_converge(sample_copy: Repo) -> None:
    """A closed window holds per target in converge and applies once it opens; it never holds a commit for good."""
    _edit(sample_copy, "platform.yaml", "  massDeletePercent: 25\n",
          "  massDeletePercent: 25\n  changeWindows:\n    - {environments: [prod], days: [mon], start: \"09:00\", "
          "end: \"09:01\"}\n")
    base = load_landscape(sample_copy.root)  # the window was accepted before (changing it is a finding of its own)
    _edit(sample_copy, "environments/prod.yaml", "gpu: 8", "gpu: 7")
    hold = risk_hold.judge("abc", base, load_landscape(sample_copy.root), USAGE)
    assert hold is None
