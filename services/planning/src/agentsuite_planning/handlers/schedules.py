"""Schedules: create, edit, delete, and the durable job that deals with each slot.

A schedule has at most one live job, keyed by its next slot: the job deals with every
slot due by then (catch-up), records each in `schedule_slots` ((schedule_id, due_at)
unique) and emits `planning.schedule.fired` in the same transaction as the job's new
state, then schedules the job of the next slot. So two instances, a restart, or a job
run twice deal with a slot once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.planning import (
    Overlap,
    ScheduleCreated,
    ScheduleDeleted,
    ScheduleFired,
    ScheduleSpec,
    ScheduleUpdated,
)
from agentsuite_kit.db.jobs import Job
from agentsuite_kit.errors import Conflict, Invalid, NotFound
from agentsuite_kit.jobs import Handler
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.schedules import (
    Schedule,
    ScheduleError,
    SlotState,
    Verdict,
    check_spec,
    due,
    next_after,
    overlap,
)
from agentsuite_planning.uow import PlanningUow

log = logging.getLogger(__name__)

SLOT_JOB = "planning.schedule.slot"


def now() -> datetime:
    return datetime.now(UTC)


def _job_key(schedule_id: UUID, due_at: datetime) -> str:
    return f"{schedule_id}/{due_at.astimezone(UTC).isoformat()}"


async def _writable(uow: PlanningUow) -> UUID:
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    return tenant_id


def _checked(spec: ScheduleSpec, at: datetime, *, past_at: bool = False) -> None:
    try:
        check_spec(spec, at, past_at=past_at)
    except ScheduleError as exc:
        raise Invalid("invalid_schedule", exc.message, field=exc.field) from exc


async def _plan_job(uow: PlanningUow, s: Schedule) -> None:
    """The job of the schedule's next slot (none while paused or when no slot is left)."""
    if s.spec.enabled and s.next_due_at is not None:
        await uow.jobs.schedule(
            SLOT_JOB,
            key=_job_key(s.id, s.next_due_at),
            run_at=s.next_due_at,
            payload={"schedule_id": str(s.id), "version": s.version},
            max_attempts=10,
        )


async def _drop_job(uow: PlanningUow, s: Schedule) -> None:
    if s.next_due_at is not None:
        # a job a runner holds now finds the schedule's version moved on and does nothing
        await uow.jobs.cancel(SLOT_JOB, _job_key(s.id, s.next_due_at), skip_locked=True)


def _first_slot(s: Schedule) -> datetime | None:
    """Where a (resumed) schedule goes on: the first slot after the ones dealt with; a
    past one comes due at once and the catch-up policy decides about the missed."""
    return next_after(s.timing(), s.dealt_up_to()) if s.spec.enabled else None


@dataclass(frozen=True, slots=True)
class CreateSchedule:
    spec: ScheduleSpec
    created_by: UUID | None


async def create_schedule(command: CreateSchedule, uow: PlanningUow, deps: Deps) -> Schedule:
    tenant_id = await _writable(uow)
    at = now()
    _checked(command.spec, at)
    if not await uow.schedule_targets.exists(command.spec.plan_id):
        raise Invalid("plan_not_found", "no such plan in this tenant", field="plan_id")
    draft = Schedule(
        id=uuid4(),
        tenant_id=tenant_id,
        spec=command.spec,
        anchor_at=at,
        last_due_at=None,
        next_due_at=None,
        created_by=command.created_by,
        created_at=at,
        updated_at=at,
        version=1,
    )
    made = await uow.schedules.add(replace(draft, next_due_at=_first_slot(draft)))
    await _plan_job(uow, made)
    uow.emit(ScheduleCreated(schedule_id=made.id, spec=made.spec, next_run_at=made.next_due_at))
    return made


@dataclass(frozen=True, slots=True)
class EditSchedule:
    schedule_id: UUID
    changes: dict[str, Any]
    check: Callable[[int], None]


_TIMING = ("cron", "timezone", "interval_seconds", "at")


async def edit_schedule(command: EditSchedule, uow: PlanningUow, deps: Deps) -> Schedule:
    """Change fields of the spec. A changed timing starts afresh from now (no catch-up of
    slots the old timing had); pausing drops the pending job, resuming catches up."""
    await _writable(uow)
    s = await uow.schedules.get(command.schedule_id, lock=True)
    if s is None:
        raise NotFound("schedule_not_found", f"no schedule {command.schedule_id}")
    command.check(s.version)
    if "plan_id" in command.changes and command.changes["plan_id"] != str(s.plan_id):
        raise Invalid("invalid_schedule", "a schedule's plan never changes", field="plan_id")
    merged = s.spec.model_dump(mode="json") | command.changes
    try:
        spec = ScheduleSpec.model_validate(merged)
    except ValueError as exc:
        raise Invalid("invalid_schedule", str(exc)[:300], field="body") from exc
    at = now()
    before = s.spec.model_dump(mode="json")
    retimed = any(merged.get(k) != before.get(k) for k in _TIMING)
    _checked(spec, at, past_at=not retimed)
    await _drop_job(uow, s)
    edited = replace(s, spec=spec)
    if retimed:
        edited = replace(edited, anchor_at=at, last_due_at=at)
    edited = replace(edited, next_due_at=_first_slot(edited))
    saved = await uow.schedules.save(edited)
    await _plan_job(uow, saved)
    uow.emit(ScheduleUpdated(schedule_id=saved.id, spec=saved.spec, next_run_at=saved.next_due_at))
    return saved


@dataclass(frozen=True, slots=True)
class DeleteSchedule:
    schedule_id: UUID
    check: Callable[[int], None]


async def delete_schedule(command: DeleteSchedule, uow: PlanningUow, deps: Deps) -> None:
    await _writable(uow)
    s = await uow.schedules.get(command.schedule_id, lock=True)
    if s is None:
        raise NotFound("schedule_not_found", f"no schedule {command.schedule_id}")
    command.check(s.version)
    await _drop_job(uow, s)
    await uow.schedules.remove(s.id)
    uow.emit(ScheduleDeleted(schedule_id=s.id))


# -- firing ----------------------------------------------------------------------------


async def slot_job(job: Job, uow: PlanningUow, deps: Deps) -> None:
    """Deal with the schedule's slots due by now, then schedule the next slot's job."""
    schedule_id = UUID(str(job.payload["schedule_id"]))
    s = await uow.schedules.get(schedule_id, lock=True)
    if s is None or s.version != job.payload.get("version") or not s.spec.enabled:
        return  # deleted, edited or paused since: the edit scheduled its own job
    # the job came due by the database's clock: its slot is due even if ours lags
    at = max(now(), job.run_at)
    found = due(s.timing(), s.dealt_up_to(), at, s.spec.catch_up)
    # a run's end that came before its start left its queued slot waiting: it goes first
    fired_now = await _drain(uow, s) if s.spec.overlap is Overlap.QUEUE else 0
    for slot in found.fire:
        fired_now += await _deal(uow, s, slot, fired_now)
    if found.missed:
        log.info("schedule %s: %d missed slots dropped by catch-up", s.id, found.missed)
    await uow.schedules.advance(s.id, at, found.next)
    await _plan_job(uow, replace(s, next_due_at=found.next))


async def _deal(uow: PlanningUow, s: Schedule, due_at: datetime, fired_now: int) -> int:
    """Record one slot; 1 when it fired. `fired_now`: slots this job fired already (their
    runs are not in the projection yet, but they overlap)."""
    tenant_id = s.tenant_id
    target = await uow.schedule_targets.resolve(s.plan_id, s.spec.plan_version, s.spec.label)
    if target.version is None:
        await uow.schedules.record_slot(
            tenant_id, s.id, due_at, SlotState.REFUSED, reason=target.refused
        )
        return 0
    if s.spec.overlap is Overlap.ALLOW:
        verdict = Verdict.FIRE
    else:
        running = await uow.runs.open_for_schedule(s.id) + fired_now
        verdict = overlap(s.spec.overlap, running, await uow.schedules.queued(s.id))
    if verdict is Verdict.SKIP:
        await uow.schedules.record_slot(
            tenant_id, s.id, due_at, SlotState.SKIPPED, reason="overlap: a run is still going"
        )
        return 0
    if verdict is Verdict.QUEUE:
        await uow.schedules.record_slot(
            tenant_id, s.id, due_at, SlotState.QUEUED, reason="overlap: waits for the run going"
        )
        return 0
    if await uow.schedules.record_slot(
        tenant_id, s.id, due_at, SlotState.FIRED, plan_version=target.version
    ):
        _emit_fired(uow, s, due_at, target.version)
        return 1
    return 0


def _emit_fired(uow: PlanningUow, s: Schedule, due_at: datetime, version: int) -> None:
    uow.emit(
        ScheduleFired(
            schedule_id=s.id,
            plan_id=s.plan_id,
            plan_version=version,
            due_at=due_at,
            inputs=dict(s.spec.inputs),
        )
    )


async def run_ended(execution_id: UUID, uow: PlanningUow) -> None:
    """A run ended (the feeds' execution projection calls this in its transaction): if a
    schedule started it, that schedule's oldest queued slot fires once no run is going."""
    schedule_id = await uow.runs.schedule_of(execution_id)
    if schedule_id is not None:
        s = await uow.schedules.get(schedule_id, lock=True)
        if s is not None:
            await _drain(uow, s)


async def _drain(uow: PlanningUow, s: Schedule) -> int:
    """Fire the oldest queued slot when no run of the schedule is going; 1 if one fired."""
    if await uow.runs.open_for_schedule(s.id) > 0:
        return 0
    while (slot := await uow.schedules.oldest_queued(s.id)) is not None:
        target = await uow.schedule_targets.resolve(s.plan_id, s.spec.plan_version, s.spec.label)
        if target.version is None:
            await uow.schedules.settle_queued(
                s.id, slot.due_at, SlotState.REFUSED, reason=target.refused
            )
            continue
        if await uow.schedules.settle_queued(
            s.id, slot.due_at, SlotState.FIRED, plan_version=target.version
        ):
            _emit_fired(uow, s, slot.due_at, target.version)
            return 1
    return 0


def jobs(deps: Deps) -> dict[str, Handler[PlanningUow]]:
    return {SLOT_JOB: partial(slot_job, deps=deps)}
