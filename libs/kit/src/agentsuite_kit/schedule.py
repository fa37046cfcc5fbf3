"""What a job runner decides, without a database: the next cron slot, the retry backoff,
and what becomes of a job after it ran or failed. Pure, so it is tested in microseconds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter  # type: ignore[import-untyped]  # ships no type information


class State(StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (State.DONE, State.FAILED, State.CANCELLED)


def check_cron(cron: str, timezone: str) -> None:
    """Raise ValueError naming the field when `cron` or `timezone` is not usable."""
    if not croniter.is_valid(cron):
        raise ValueError(f"cron: not a valid cron expression: {cron!r}")
    zone(timezone)


def zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"timezone: not an IANA time zone: {timezone!r}") from exc


def next_slot(cron: str, timezone: str, after: datetime) -> datetime:
    """The first slot of `cron`, read in `timezone`, strictly after `after` (aware, UTC out).

    Slots are computed in the job's zone so `0 9 * * *` stays 09:00 local across DST.
    """
    if after.tzinfo is None:
        raise ValueError("after: must be timezone-aware")
    local = after.astimezone(zone(timezone))
    slot: datetime = croniter(cron, local).get_next(datetime)
    return slot.astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class Backoff:
    """Exponential retry delay: `base * factor**(attempt-1)`, capped at `cap`."""

    base: timedelta = timedelta(seconds=10)
    factor: float = 2.0
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> timedelta:
        if attempt < 1:
            raise ValueError(f"attempt: must be at least 1, got {attempt}")
        # capped before multiplying out: factor**attempt overflows float for large attempts
        seconds = self.base.total_seconds()
        for _ in range(attempt - 1):
            seconds *= self.factor
            if seconds >= self.cap.total_seconds():
                return self.cap
        return min(timedelta(seconds=seconds), self.cap)


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class Slot:
    """The facts about a claimed job that decide what happens to it next."""

    run_at: datetime
    attempts: int
    """Claims so far, this one included (counted at claim, so a crash counts too)."""
    max_attempts: int
    cron: str | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class Outcome:
    """The job's next state: `run_at` is set when it is scheduled again."""

    state: State
    run_at: datetime | None = None
    attempts: int | None = None
    """The attempts to store when they are reset (a cron job's next slot starts afresh)."""
    error: str | None = None


def after_success(job: Slot, now: datetime) -> Outcome:
    """Done, or (cron) the next slot after now: slots missed while down run once, not each."""
    if job.cron is None:
        return Outcome(State.DONE)
    later = max(job.run_at, now)
    return Outcome(State.SCHEDULED, next_slot(job.cron, job.timezone, later), attempts=0)


def after_failure(job: Slot, error: str, now: datetime, backoff: Backoff | None = None) -> Outcome:
    """Retry with backoff while attempts remain; then fail, or (cron) give up this slot only.

    A cron job that exhausts its attempts keeps its schedule: one bad slot must not end a
    schedule; the error stays in `last_error` for whoever looks.
    """
    if job.attempts < job.max_attempts:
        backoff = backoff or DEFAULT_BACKOFF
        return Outcome(State.SCHEDULED, now + backoff.delay(job.attempts), error=error)
    if job.cron is not None:
        return Outcome(
            State.SCHEDULED,
            next_slot(job.cron, job.timezone, max(job.run_at, now)),
            attempts=0,
            error=error,
        )
    return Outcome(State.FAILED, error=error)
