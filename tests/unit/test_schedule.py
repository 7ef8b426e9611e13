"""When a cluster's worker converges: at once on a new revision or when forced, after a growing backoff when it
failed, else at the resync."""

from __future__ import annotations

from reconciler.controller.schedule import Schedule


def test_a_new_revision_is_due_at_once_and_the_same_one_waits_for_the_resync() -> None:
    schedule = Schedule(resync=300.0, max_backoff=60.0)
    assert schedule.due("abc", now=0.0)
    schedule.started("abc")
    schedule.settled(now=10.0)
    assert not schedule.due("abc", now=100.0)
    assert schedule.next_wake(now=100.0) == 210.0
    assert schedule.due("abc", now=310.0)
    assert schedule.due("def", now=11.0)


def test_a_failure_waits_for_its_backoff_which_grows_until_the_ceiling_and_a_success_ends_it() -> None:
    schedule = Schedule(resync=300.0, max_backoff=4.0)
    schedule.started("abc")
    waits = [schedule.failed(now=0.0) for _ in range(5)]
    assert 0.8 <= waits[0] <= 1.2 and 1.6 <= waits[1] <= 2.4
    assert all(3.2 <= wait <= 4.8 for wait in waits[2:])
    assert not schedule.due("abc", now=waits[-1] - 0.1)
    assert schedule.due("abc", now=waits[-1])
    schedule.settled(now=5.0)
    assert schedule.failures == 0 and schedule.retry_at is None
    assert not schedule.due("abc", now=6.0)


def test_force_makes_the_applied_revision_due_until_the_next_start() -> None:
    schedule = Schedule(resync=300.0, max_backoff=60.0)
    schedule.started("abc")
    schedule.settled(now=0.0)
    schedule.force = True
    assert schedule.due("abc", now=1.0)
    schedule.started("abc")
    assert not schedule.due("abc", now=1.0)
