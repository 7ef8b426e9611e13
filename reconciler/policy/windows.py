"""Change windows: when the Platform lets an environment change. Pure: the time is always a parameter.

A window (``Platform.spec.changeWindows``) names environments (``"*"`` for all), the days it is open (``mon`` ..
``sun``, every day when omitted) and a time range in UTC (``start`` to ``end``, the whole day when omitted; a range
such as 22:00-02:00 runs past midnight and belongs to the day it starts on). Freezes are date ranges (inclusive,
UTC) when the window's environments may not change at all.

An environment named by no window may always change. Named by several, it may change when any of them is open and
none of them is frozen. An entry with freezes but without days, start or end only adds its freezes: it opens
nothing, so a year-end freeze for every environment does not widen anyone's office hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from reconciler.config.model import ChangeWindow, Platform

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_ENVIRONMENTS = "*"
# How far ahead to look for the next opening: past a year of freezes, a window that never opens is a mistake.
HORIZON_DAYS = 400


class WindowStatus(NamedTuple):
    open: bool
    reason: str
    next_open: datetime | None


def windows_for(platform: Platform, environment: str) -> tuple[ChangeWindow, ...]:
    return tuple(w for w in platform.change_windows
                 if environment in w.environments or ALL_ENVIRONMENTS in w.environments)


def _minutes(text: str | None, default: int) -> int:
    if text is None:
        return default
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _span(window: ChangeWindow) -> tuple[int, int]:
    return _minutes(window.start, 0), _minutes(window.end, 24 * 60)


def _day_open(window: ChangeWindow, day: date) -> bool:
    return not window.days or DAYS[day.weekday()] in window.days


def _in_window(window: ChangeWindow, now: datetime) -> bool:
    start, end = _span(window)
    minute = now.hour * 60 + now.minute
    today = now.date()
    if start < end:
        return _day_open(window, today) and start <= minute < end
    if start == end:
        return False
    # Past midnight: the evening part belongs to today, the early-morning part to yesterday's window.
    return (_day_open(window, today) and minute >= start) or \
        (_day_open(window, today - timedelta(days=1)) and minute < end)


def _freeze(windows: tuple[ChangeWindow, ...], day: date) -> tuple[str, str, str] | None:
    for window in windows:
        for freeze in window.freezes:
            if date.fromisoformat(freeze[0]) <= day <= date.fromisoformat(freeze[1]):
                return freeze
    return None


def _describe(window: ChangeWindow) -> str:
    days = ",".join(window.days) if window.days else "every day"
    hours = f"{window.start or '00:00'}-{window.end or '24:00'} UTC"
    return f"{days} {hours}"


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _openings(windows: tuple[ChangeWindow, ...]) -> tuple[ChangeWindow, ...]:
    return tuple(w for w in windows if w.days or w.start or w.end or not w.freezes)


def _inside(windows: tuple[ChangeWindow, ...], moment: datetime) -> ChangeWindow | None:
    """The window open at ``moment``; a freeze-only window when only those name the environment."""
    openings = _openings(windows)
    if not openings:
        return windows[0]
    return next((w for w in openings if _in_window(w, moment)), None)


def _open_at(windows: tuple[ChangeWindow, ...], moment: datetime) -> bool:
    return _freeze(windows, moment.date()) is None and _inside(windows, moment) is not None


def next_opening(windows: tuple[ChangeWindow, ...], now: datetime) -> datetime | None:
    """The first moment after ``now`` when the environment may change, or None within HORIZON_DAYS."""
    now = _utc(now)
    first_day = now.date()
    for offset in range(HORIZON_DAYS):
        day = first_day + timedelta(days=offset)
        midnight = datetime.combine(day, time(0), tzinfo=UTC)
        candidates = [midnight, *(midnight + timedelta(minutes=_span(w)[0]) for w in windows if _day_open(w, day))]
        for candidate in sorted(candidates):
            if candidate > now and _open_at(windows, candidate):
                return candidate
    return None


def window_status(platform: Platform, environment: str, now: datetime) -> WindowStatus:
    """Whether ``environment`` may change at ``now`` (naive times are UTC), why, and when it next may."""
    now = _utc(now)
    windows = windows_for(platform, environment)
    if not windows:
        return WindowStatus(True, f"no change window is set for {environment}", None)
    freeze = _freeze(windows, now.date())
    if freeze is not None:
        why = f" ({freeze[2]})" if freeze[2] else ""
        return WindowStatus(False, f"{environment} is frozen from {freeze[0]} to {freeze[1]}{why}",
                            next_opening(windows, now))
    window = _inside(windows, now)
    if window is not None:
        return WindowStatus(True, f"inside the change window of {environment} ({_describe(window)})", None)
    allowed = "; ".join(_describe(w) for w in _openings(windows))
    return WindowStatus(False, f"outside the change window of {environment} ({allowed})", next_opening(windows, now))
