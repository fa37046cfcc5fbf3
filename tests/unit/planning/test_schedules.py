"""Slot arithmetic: next slots, catch-up selection, overlap, DST, and hostile specs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_contracts.planning import CatchUp, Overlap, ScheduleSpec
from agentsuite_planning.domain.schedules import (
    MAX_CATCH_UP,
    ScheduleError,
    Timing,
    Verdict,
    due,
    next_after,
    overlap,
    slots,
    timing,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
PLAN = uuid4()


def spec(**kw: object) -> ScheduleSpec:
    return ScheduleSpec(plan_id=PLAN, plan_version=1, **kw)  # type: ignore[arg-type]


def test_an_interval_falls_on_its_anchor_grid() -> None:
    t = timing(spec(interval_seconds=60), T0)
    assert next_after(t, T0) == T0 + timedelta(minutes=1)
    assert next_after(t, T0 + timedelta(seconds=61)) == T0 + timedelta(minutes=2)
    assert next_after(t, T0 - timedelta(days=1)) == T0 + timedelta(minutes=1)


def test_a_one_time_slot_comes_once() -> None:
    t = timing(spec(at=T0), T0 - timedelta(hours=1))
    assert next_after(t, T0 - timedelta(seconds=1)) == T0
    assert next_after(t, T0) is None


def test_a_daily_cron_stays_at_nine_local_across_dst() -> None:
    t = timing(spec(cron="0 9 * * *", timezone="Europe/Berlin"), T0)
    got = list(slots(t, datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC), 10))
    local = [s.astimezone(ZoneInfo("Europe/Berlin")) for s in got]
    assert [s.hour for s in local] == [9, 9, 9, 9]
    assert got[1] - got[0] == timedelta(hours=24)
    assert got[2] - got[1] == timedelta(hours=23)  # the night the clocks went forward


def test_a_slot_in_the_dst_gap_fires_once_and_the_fold_does_not_repeat() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin; 02:30 exists twice on 2026-10-25
    t = timing(spec(cron="30 2 * * *", timezone="Europe/Berlin"), T0)
    spring = list(
        slots(t, datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC), 10)
    )
    assert len(spring) == len(set(spring))
    assert spring == sorted(spring)
    autumn = list(
        slots(t, datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 27, tzinfo=UTC), 10)
    )
    assert len(autumn) == len(set(autumn))
    assert autumn == sorted(autumn)
    days = [s.astimezone(ZoneInfo("Europe/Berlin")).date() for s in autumn]
    assert len(days) == len(set(days)), autumn  # the repeated hour is not a second slot


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * * *"}, "cron"),
        ({"cron": "* * * * * *"}, "cron"),
        ({"cron": "0 0 * * *\x00"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # never comes
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"cron": "0 9 * * *", "timezone": "UTC\x00"}, "timezone"),
        ({"interval_seconds": 10**12}, "interval_seconds"),
        ({}, "cron"),
        ({"cron": "0 9 * * *", "interval_seconds": 5}, "cron"),
    ],
)
def test_a_hostile_spec_is_refused_naming_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        timing(spec(**kw), T0)
    assert caught.value.field == field


def test_catch_up_none_drops_missed_slots_but_fires_one_on_time() -> None:
    t = timing(spec(interval_seconds=60), T0)
    now = T0 + timedelta(hours=1, seconds=10)
    d = due(t, T0, now, CatchUp.NONE)
    assert d.fire == (T0 + timedelta(hours=1),)
    assert d.missed == 59
    assert d.next == T0 + timedelta(hours=1, minutes=1)


def test_catch_up_latest_fires_only_the_newest_missed_slot() -> None:
    t = timing(spec(interval_seconds=600), T0)
    now = T0 + timedelta(hours=1, minutes=5)
    d = due(t, T0, now, CatchUp.LATEST)
    assert d.fire == (T0 + timedelta(hours=1),)
    assert d.missed == 5


def test_catch_up_all_is_bounded_to_the_newest() -> None:
    t = timing(spec(interval_seconds=1), T0)
    now = T0 + timedelta(days=365)
    d = due(t, T0, now, CatchUp.ALL)
    assert len(d.fire) <= 2 * MAX_CATCH_UP
    assert d.fire == tuple(sorted(set(d.fire)))
    assert d.fire[-1] <= now
    assert d.next is not None
    assert d.next > now


def test_a_cron_backlog_of_months_is_read_only_a_week_back() -> None:
    t = timing(spec(cron="* * * * *"), T0)
    d = due(t, T0, T0 + timedelta(days=90), CatchUp.ALL)
    assert 0 < len(d.fire) <= 2 * MAX_CATCH_UP
    assert d.missed > 0


@pytest.mark.parametrize(
    ("policy", "open_runs", "queued", "verdict"),
    [
        (Overlap.SKIP, 0, 0, Verdict.FIRE),
        (Overlap.SKIP, 1, 0, Verdict.SKIP),
        (Overlap.QUEUE, 1, 0, Verdict.QUEUE),
        (Overlap.QUEUE, 0, 2, Verdict.QUEUE),  # never overtakes waiting slots
        (Overlap.QUEUE, 1, 10, Verdict.SKIP),
        (Overlap.ALLOW, 5, 0, Verdict.FIRE),
    ],
)
def test_overlap(policy: Overlap, open_runs: int, queued: int, verdict: Verdict) -> None:
    assert overlap(policy, open_runs, queued) is verdict


ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]
)
CRONS = st.sampled_from(
    ["*/7 * * * *", "30 2 * * *", "0 1-3 * * *", "15 */2 * * 0", "0 0 1 * *", "59 1 * * 0,3"]
)
STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(cron=CRONS, zone=ZONES, start=STARTS)
def test_cron_slots_strictly_increase_and_never_repeat(
    cron: str, zone: str, start: datetime
) -> None:
    t = timing(spec(cron=cron, timezone=zone), start)
    got = list(slots(t, start, start + timedelta(days=40), 200))
    assert got, "a cron that comes at least monthly has slots in 40 days"
    assert all(a < b for a, b in itertools.pairwise(got))
    assert got[0] > start


@settings(max_examples=150, deadline=None)
@given(
    interval=st.integers(min_value=1, max_value=10**6),
    start=STARTS,
    gap=st.integers(min_value=0, max_value=10**8),
    policy=st.sampled_from(list(CatchUp)),
)
def test_due_then_next_never_fires_a_slot_twice(
    interval: int, start: datetime, gap: int, policy: CatchUp
) -> None:
    t = Timing(interval=timedelta(seconds=interval), anchor=start)
    now = start + timedelta(seconds=gap)
    first = due(t, start, now, policy)
    assert list(first.fire) == sorted(set(first.fire))
    assert all(start < s <= now for s in first.fire)
    assert first.next is None or first.next > now
    later = now + timedelta(seconds=gap // 3 + 1)
    after = max(first.fire, default=start)
    second = due(t, max(after, now), later, policy)
    assert not set(first.fire) & set(second.fire)


DST_ZONES = st.sampled_from(
    ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]
)
NAMED_HOURS = st.sampled_from(["30 2 * * *", "0 1-3 * * *", "15,45 0-4 * * *", "0 2 * * *"])
# windows around the year's transitions, where gaps and folds are
NEAR_DST = st.datetimes(
    min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 10), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(cron=NAMED_HOURS, zone=DST_ZONES, start=NEAR_DST)
def test_a_named_hour_never_fires_a_wall_time_twice_nor_loses_a_day(
    cron: str, zone: str, start: datetime
) -> None:
    t = timing(spec(cron=cron, timezone=zone), start)
    got = list(slots(t, start, start + timedelta(days=8), 500))
    local = [s.astimezone(ZoneInfo(zone)) for s in got]
    walls = [(d.date(), d.hour, d.minute) for d in local]
    assert len(walls) == len(set(walls)), got  # a fold's repeated hour is not a second slot
    assert all(a < b for a, b in itertools.pairwise(got))
    days = {d.date() for d in local}
    first, last = local[0].date(), local[-1].date()
    # a day whose slots fall in a gap still has one (moved past the gap)
    assert len(days) == (last - first).days + 1
