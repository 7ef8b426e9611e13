"""Change windows: pure checks of window_status, and the outside-change-window finding of a diff."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.cli import main as cli
from reconciler.config.model import ChangeWindow, Platform
from reconciler.policy.windows import next_opening, window_status
from tests.unit.gitrepo import GitRepo, rules

OFFICE_HOURS = ChangeWindow(environments=("prod",), days=("mon", "tue", "wed", "thu", "fri"), start="09:00",
                            end="16:00", freezes=())
FREEZE = ChangeWindow(environments=("prod", "staging"), days=(), start=None, end=None,
                      freezes=(("2025-12-20", "2026-01-04", "year-end freeze"),))
NIGHTS = ChangeWindow(environments=("batch",), days=("fri",), start="22:00", end="02:00", freezes=())
EVERYONE = ChangeWindow(environments=("*",), days=("sat",), start=None, end=None, freezes=())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def platform(*windows: ChangeWindow) -> Platform:
    return Platform(name="p", change_windows=windows)


def test_an_environment_without_a_window_may_always_change() -> None:
    status = window_status(platform(OFFICE_HOURS), "dev", at("2025-06-07T03:00"))
    assert status.open and status.next_open is None
    assert "no change window" in status.reason


@pytest.mark.parametrize(("moment", "is_open"), [
    ("2025-06-03T09:00", True),   # Tuesday, at the start
    ("2025-06-03T15:59", True),
    ("2025-06-03T16:00", False),  # the end is exclusive
    ("2025-06-03T08:59", False),
    ("2025-06-07T10:00", False),  # Saturday
])
def test_weekday_office_hours(moment: str, is_open: bool) -> None:
    assert window_status(platform(OFFICE_HOURS), "prod", at(moment)).open is is_open


def test_closed_says_why_and_when_it_next_opens() -> None:
    status = window_status(platform(OFFICE_HOURS), "prod", at("2025-06-06T17:30"))  # Friday evening
    assert not status.open
    assert status.reason == "outside the change window of prod (mon,tue,wed,thu,fri 09:00-16:00 UTC)"
    assert status.next_open == at("2025-06-09T09:00")  # Monday


def test_a_freeze_closes_every_window_of_its_environments() -> None:
    status = window_status(platform(OFFICE_HOURS, FREEZE), "prod", at("2025-12-22T10:00"))  # a Monday
    assert not status.open
    assert status.reason == "prod is frozen from 2025-12-20 to 2026-01-04 (year-end freeze)"
    assert status.next_open == at("2026-01-05T09:00")


def test_a_freeze_only_entry_opens_nothing_by_itself() -> None:
    assert not window_status(platform(OFFICE_HOURS, FREEZE), "prod", at("2025-06-07T10:00")).open


def test_a_freeze_only_window_leaves_other_days_open() -> None:
    assert window_status(platform(FREEZE), "staging", at("2025-12-19T23:00")).open
    frozen = window_status(platform(FREEZE), "staging", at("2026-01-04T23:59"))
    assert not frozen.open and frozen.next_open == at("2026-01-05T00:00")


def test_a_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    windows = platform(NIGHTS)
    assert window_status(windows, "batch", at("2025-06-06T23:00")).open       # Friday night
    assert window_status(windows, "batch", at("2025-06-07T01:30")).open       # early Saturday
    assert not window_status(windows, "batch", at("2025-06-07T02:00")).open
    assert not window_status(windows, "batch", at("2025-06-06T01:00")).open   # early Friday: Thursday's night
    assert window_status(windows, "batch", at("2025-06-07T03:00")).next_open == at("2025-06-13T22:00")


def test_several_windows_open_when_any_is_open_and_star_names_every_environment() -> None:
    windows = platform(OFFICE_HOURS, EVERYONE)
    assert window_status(windows, "prod", at("2025-06-07T10:00")).open   # Saturday, by the "*" window
    assert window_status(windows, "dev", at("2025-06-07T10:00")).open
    assert not window_status(windows, "dev", at("2025-06-08T10:00")).open


def test_naive_times_are_utc_and_other_zones_are_converted() -> None:
    windows = platform(OFFICE_HOURS)
    assert window_status(windows, "prod", datetime(2025, 6, 3, 9, 30)).open
    berlin = datetime.fromisoformat("2025-06-03T10:30:00+02:00")  # 08:30 UTC
    assert not window_status(windows, "prod", berlin).open


def test_a_window_that_never_opens_has_no_next_opening() -> None:
    never = ChangeWindow(environments=("prod",), days=(), start="10:00", end="10:00", freezes=())
    assert next_opening((never,), at("2025-06-03T09:00")) is None


# -- the finding ----------------------------------------------------------------------------------------------------

WINDOWED_PLATFORM = """
    apiVersion: reconciler.dev/v1alpha1
    kind: Platform
    metadata: {name: ml-platform}
    spec:
      controlPlane: {cluster: shared, namespace: polyaxon}
      changeWindows:
        - environments: [prod]
          days: [mon, tue, wed, thu, fri]
          start: "09:00"
          end: "16:00"
    """


@pytest.fixture
def windowed(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "envs")
    repo.write("platform.yaml", WINDOWED_PLATFORM)
    repo.commit("prod changes in office hours")
    repo.replace("environments/prod.yaml", "quota: {gpu: 16}", "quota: {gpu: 24}")
    repo.replace("environments/dev.yaml", "role: edit", "role: view")
    repo.commit("more gpus for prod, less access in dev")
    return repo


def test_outside_change_window_blocks_a_change_to_the_environment(windowed: GitRepo) -> None:
    result = windowed.diff(now=at("2025-06-07T10:00"))  # Saturday
    found = rules(result)
    [finding] = found["outside-change-window"]
    assert (finding.severity, finding.environment) == ("block", "prod")
    assert "it is Sat 2025-06-07 10:00 UTC, outside the change window of prod" in finding.reason
    assert "the next window opens Mon 2025-06-09 09:00 UTC" in finding.reason
    assert result.exit_code == 3


def test_inside_the_change_window_nothing_is_held(windowed: GitRepo) -> None:
    result = windowed.diff(now=at("2025-06-09T10:00"))
    assert "outside-change-window" not in rules(result)


def test_the_cli_takes_the_time_from_now(windowed: GitRepo) -> None:
    saturday = windowed.cli("--base", "HEAD~1", "--now", "2025-06-07T10:00:00Z")
    assert saturday.code == 3 and "outside-change-window" in saturday.out
    monday = windowed.cli("--base", "HEAD~1", "--now", "2025-06-09T10:00:00Z")
    assert monday.code == 0, monday.out


def test_the_cli_refuses_a_time_it_cannot_read(windowed: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["diff", str(windowed.root), "--base", "HEAD~1", "--now", "next tuesday"])
    assert exited.value.code == cli.EXIT_USAGE
    assert "is not an ISO 8601 time" in capsys.readouterr().err
