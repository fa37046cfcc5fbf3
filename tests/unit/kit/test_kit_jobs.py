"""The job runner's decisions without a database: cron slots, backoff, after success or
failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentsuite_kit.schedule import (
    Backoff,
    Outcome,
    Slot,
    State,
    after_failure,
    after_success,
    check_cron,
    next_slot,
)

T0 = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # the Saturday before Berlin's DST switch
BERLIN = ZoneInfo("Europe/Berlin")


def test_next_slot_is_strictly_after_and_in_utc() -> None:
    assert next_slot("*/15 * * * *", "UTC", T0) == T0 + timedelta(minutes=15)
    assert next_slot("0 * * * *", "UTC", T0 + timedelta(seconds=1)) == T0 + timedelta(hours=1)


def test_next_slot_keeps_local_time_across_dst() -> None:
    first = next_slot("0 9 * * *", "Europe/Berlin", T0)  # Sunday 09:00 CEST
    second = next_slot("0 9 * * *", "Europe/Berlin", first)
    assert (first.astimezone(BERLIN).hour, second.astimezone(BERLIN).hour) == (9, 9)
    assert (first.hour, second.hour) == (7, 7)  # UTC+2 after the switch
    assert next_slot("0 9 * * *", "Europe/Berlin", T0 - timedelta(days=1)).hour == 8  # CET


@pytest.mark.parametrize(
    ("cron", "zone", "field"),
    [("61 * * * *", "UTC", "cron"), ("0 9 * * *", "Mars/Olympus", "timezone")],
)
def test_invalid_cron_or_timezone_names_the_field(cron: str, zone: str, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        check_cron(cron, zone)


def test_next_slot_rejects_naive_time() -> None:
    with pytest.raises(ValueError, match="after"):
        next_slot("* * * * *", "UTC", datetime(2026, 1, 1))


def test_backoff_doubles_and_caps() -> None:
    b = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=1))
    assert [b.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert b.delay(10_000) == timedelta(minutes=1)  # no float overflow
    with pytest.raises(ValueError, match="attempt"):
        b.delay(0)


def test_one_shot_job_is_done_after_success() -> None:
    assert after_success(Slot(T0, 1, 5), T0) == Outcome(State.DONE)


def test_cron_job_after_success_runs_missed_slots_once() -> None:
    late = T0 + timedelta(hours=5, minutes=30)
    outcome = after_success(Slot(T0, 3, 5, cron="0 * * * *"), late)
    assert outcome == Outcome(State.SCHEDULED, T0 + timedelta(hours=6), attempts=0)


def test_failure_retries_with_backoff_while_attempts_remain() -> None:
    outcome = after_failure(Slot(T0, 2, 3), "boom", T0, Backoff(base=timedelta(seconds=5)))
    assert outcome == Outcome(State.SCHEDULED, T0 + timedelta(seconds=10), error="boom")


def test_failure_on_last_attempt_fails_one_shot_job() -> None:
    assert after_failure(Slot(T0, 3, 3), "boom", T0) == Outcome(State.FAILED, error="boom")


def test_crashed_claims_beyond_max_fail_too() -> None:
    assert after_failure(Slot(T0, 4, 3), "lease", T0).state is State.FAILED


def test_cron_job_out_of_attempts_gives_up_the_slot_not_the_schedule() -> None:
    outcome = after_failure(Slot(T0, 3, 3, cron="0 * * * *"), "boom", T0 + timedelta(minutes=1))
    assert outcome == Outcome(State.SCHEDULED, T0 + timedelta(hours=1), attempts=0, error="boom")
