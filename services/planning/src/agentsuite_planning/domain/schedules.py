"""Schedule arithmetic, pure: when slots fall, which missed ones fire, what overlap does.

Every time here is aware; slots come out in UTC. A cron is read in the schedule's zone
(the kit's `next_slot`), so `0 9 * * *` stays 09:00 local across DST.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from agentsuite_contracts.planning import CatchUp, Overlap, ScheduleSpec
from agentsuite_kit.schedule import check_cron, next_slot

MAX_INTERVAL = timedelta(days=3660)
"""Ten years: a longer interval is a mistake (and past it datetimes overflow soon)."""
MAX_CATCH_UP = 100
"""`catch_up: all` fires at most this many missed slots (the newest): a schedule paused
for a year at one slot a minute must not flood execution."""
GRACE = timedelta(seconds=60)
"""A slot this close to now is on time, not missed (a runner polls; a box is loaded)."""
_LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


class ScheduleError(ValueError):
    """A spec that cannot be a schedule; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Timing:
    """When a schedule's slots fall: exactly one of `cron`, `interval` and `at`.

    `anchor`: the origin of an interval's slots (anchor + k * interval, k >= 1).
    """

    cron: str | None = None
    timezone: str = "UTC"
    interval: timedelta | None = None
    anchor: datetime | None = None
    at: datetime | None = None


def timing(spec: ScheduleSpec, anchor: datetime) -> Timing:
    """The spec's timing, checked: a ScheduleError naming the field when it is unusable."""
    kinds = [k for k in ("cron", "interval_seconds", "at") if getattr(spec, k) is not None]
    if len(kinds) != 1:
        raise ScheduleError("cron", "exactly one of cron, interval_seconds and at is needed")
    if "\x00" in spec.timezone or len(spec.timezone) > 64:
        raise ScheduleError("timezone", "not an IANA time zone")
    if spec.cron is not None:
        if "\x00" in spec.cron or len(spec.cron) > 120 or len(spec.cron.split()) != 5:
            raise ScheduleError("cron", "not a five-field cron expression")
        try:
            check_cron(spec.cron, spec.timezone)
            next_cron(spec.cron, spec.timezone, anchor)
        except (ValueError, KeyError, OverflowError) as exc:
            field = "timezone" if str(exc).startswith("timezone") else "cron"
            raise ScheduleError(field, "not a usable cron expression in this zone") from exc
        return Timing(cron=spec.cron, timezone=spec.timezone)
    if spec.interval_seconds is not None:
        # compared as a number first: timedelta() of a huge integer overflows
        if spec.interval_seconds > MAX_INTERVAL.total_seconds():
            raise ScheduleError("interval_seconds", f"at most {MAX_INTERVAL.days} days")
        return Timing(interval=timedelta(seconds=spec.interval_seconds), anchor=anchor)
    assert spec.at is not None
    if spec.at.tzinfo is None:
        raise ScheduleError("at", "must carry a time zone offset")
    return Timing(at=spec.at.astimezone(UTC))


def next_cron(cron: str, timezone: str, after: datetime) -> datetime:
    """The cron's first slot strictly after `after`.

    The kit's `next_slot` answers a wall time in the repeated hour of a DST fold twice
    (02:30 CEST and 02:30 CET): a cron that names its hours fires such a time once, at
    its first occurrence; one with a wildcard hour (`*`, `*/n`) keeps its cadence.
    """
    zone_ = ZoneInfo(timezone)
    once_in_fold = not cron.split()[1].startswith("*")
    slot = next_slot(cron, timezone, after)
    for _ in range(_FOLD_STEPS):
        if slot <= after:
            slot = next_slot(cron, timezone, after)
        local = slot.astimezone(zone_)
        if not (once_in_fold and local.fold == 1 and _repeated(local)):
            return slot
        slot = next_slot(cron, timezone, slot)
    raise ValueError("cron: no slot found")


_FOLD_STEPS = 1000


def _repeated(local: datetime) -> bool:
    """`local` (fold=1) names a wall time that also happened an hour or so earlier."""
    first = local.replace(fold=0)
    return first.utcoffset() != local.utcoffset()


def next_after(t: Timing, after: datetime) -> datetime | None:
    """The first slot strictly after `after`; None when there is none (a past one-time,
    or an interval past the calendar's end)."""
    if t.at is not None:
        return t.at if t.at > after else None
    if t.interval is not None:
        assert t.anchor is not None
        k = 1 if after < t.anchor else (after - t.anchor) // t.interval + 1
        try:
            slot = t.anchor + k * t.interval
        except OverflowError:
            return None
        return slot if slot < _LAST else None
    assert t.cron is not None
    try:
        return next_cron(t.cron, t.timezone, after)
    except (OverflowError, ValueError, KeyError):
        return None


def slots(t: Timing, after: datetime, until: datetime, limit: int) -> Iterator[datetime]:
    """The slots in (after, until], oldest first, at most `limit`."""
    count, slot = 0, next_after(t, after)
    while slot is not None and slot <= until and count < limit:
        yield slot
        count += 1
        slot = next_after(t, slot)


@dataclass(frozen=True, slots=True)
class Due:
    """What to do with the slots that came due: `fire` them (oldest first), `missed` of
    them are dropped by the catch-up policy; `next` is the first slot after `now`."""

    fire: tuple[datetime, ...]
    missed: int
    next: datetime | None


def due(
    t: Timing,
    after: datetime,
    now: datetime,
    policy: CatchUp,
    *,
    grace: timedelta = GRACE,
    bound: int = MAX_CATCH_UP,
) -> Due:
    """The slots in (after, now] and which of them fire.

    A slot within `grace` of now is on time and fires; older ones were missed (downtime,
    a pause): `none` drops them, `latest` fires the newest unless an on-time one
    supersedes it, `all` fires up to `bound` of the newest. Walking is bounded: an
    interval's backlog is skipped arithmetically, a cron's is read at most `LOOKBACK` back.
    """
    missed_before = now - grace
    start, passed = _recent_start(t, after, missed_before, bound)
    late: deque[datetime] = deque(maxlen=bound)
    on_time: list[datetime] = []
    seen_late = 0
    for slot in slots(t, start, now, _WALK):
        if slot < missed_before:
            late.append(slot)
            seen_late += 1
        elif len(on_time) < bound:
            on_time.append(slot)
        else:
            passed += 1
    if policy is CatchUp.ALL:
        keep = list(late)
    elif policy is CatchUp.LATEST and not on_time:
        keep = list(late)[-1:]
    else:
        keep = []
    missed = passed + seen_late - len(keep)
    return Due(tuple(keep + on_time), missed, next_after(t, max(now, after)))


LOOKBACK = timedelta(days=7)
"""How far back a cron's missed slots are looked for (older ones count as one missed)."""
_WALK = 20_000


def _recent_start(t: Timing, after: datetime, before: datetime, bound: int) -> tuple[datetime, int]:
    """Where to start walking so that only recent slots are listed, and how many (at
    least) were passed over: an interval skips to its newest `bound` missed slots, a cron
    to `LOOKBACK` before `before`."""
    if before <= after:
        return after, 0
    if t.interval is not None and t.anchor is not None:
        first = next_after(t, after)
        if first is None or first >= before:
            return after, 0
        total = (before - first - timedelta.resolution) // t.interval + 1
        if total <= bound:
            return after, 0
        passed = total - bound
        return first + (passed - 1) * t.interval, passed
    if t.cron is not None and before - after > LOOKBACK:
        start = before - LOOKBACK
        first = next_after(t, after)
        return start, 1 if first is not None and first <= start else 0
    return after, 0


class Verdict(StrEnum):
    FIRE = "fire"
    SKIP = "skip"
    QUEUE = "queue"


MAX_QUEUED = 10
"""A `queue` schedule holds at most this many waiting slots; more are skipped."""


def overlap(
    policy: Overlap, open_runs: int, queued: int, *, max_queued: int = MAX_QUEUED
) -> Verdict:
    """What a slot does given the schedule's runs still going and slots already waiting.

    A queued slot waits behind earlier queued ones: it never overtakes them.
    """
    if policy is Overlap.ALLOW:
        return Verdict.FIRE
    if open_runs == 0 and queued == 0:
        return Verdict.FIRE
    if policy is Overlap.SKIP:
        return Verdict.SKIP
    return Verdict.QUEUE if queued < max_queued else Verdict.SKIP


LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
MAX_INPUT_BYTES = 64_000


def check_spec(spec: ScheduleSpec, now: datetime, *, past_at: bool = False) -> Timing:
    """Everything a schedule's spec must be before it is stored (a ScheduleError naming
    the field): one timing, a version or a label (one of them), an `at` not past (unless
    `past_at`: an edit that leaves the timing alone)."""
    if (spec.plan_version is None) == (spec.label is None):
        raise ScheduleError("plan_version", "exactly one of plan_version and label is needed")
    if spec.label is not None and not LABEL.fullmatch(spec.label):
        raise ScheduleError("label", "a label is ^[a-z][a-z0-9_-]{0,39}$")
    if spec.at is not None and spec.at.tzinfo is not None and spec.at <= now and not past_at:
        raise ScheduleError("at", "a one-time run must be in the future")
    found = timing(spec, now)
    if next_after(found, now) is None and spec.at is None:
        raise ScheduleError("cron" if spec.cron else "interval_seconds", "never comes due")
    return found


@dataclass(frozen=True, slots=True)
class Schedule:
    id: UUID
    tenant_id: UUID
    spec: ScheduleSpec
    anchor_at: datetime
    last_due_at: datetime | None
    next_due_at: datetime | None
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def plan_id(self) -> UUID:
        return self.spec.plan_id

    def timing(self) -> Timing:
        return timing(self.spec, self.anchor_at)

    def dealt_up_to(self) -> datetime:
        """Slots after this one are not dealt with yet."""
        return self.last_due_at or self.anchor_at


class SlotState(StrEnum):
    FIRED = "fired"
    SKIPPED = "skipped"
    QUEUED = "queued"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Slot:
    schedule_id: UUID
    due_at: datetime
    state: SlotState
    reason: str | None
    plan_version: int | None
    execution_id: UUID | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Target:
    """The version a slot runs, or why it runs nothing (`refused`: a code and a reason)."""

    version: int | None = None
    refused: str | None = None
