"""Schedules and their slots (RLS confines every statement to the unit of work's tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.planning import ScheduleSpec
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue
from agentsuite_planning.domain.schedules import Schedule, Slot, SlotState, Target
from agentsuite_planning.repositories.tables import (
    plan_labels,
    plan_versions,
    plans,
    schedule_slots,
    schedules,
)

_SCHEDULE = select(schedules)
_SLOT = select(schedule_slots)


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=row.id,
        tenant_id=row.tenant_id,
        spec=ScheduleSpec.model_validate(row.spec),
        anchor_at=row.anchor_at,
        last_due_at=row.last_due_at,
        next_due_at=row.next_due_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _slot(row: Any) -> Slot:
    return Slot(
        schedule_id=row.schedule_id,
        due_at=row.due_at,
        state=SlotState(row.state),
        reason=row.reason,
        plan_version=row.plan_version,
        execution_id=row.execution_id,
        updated_at=row.updated_at,
    )


def _spec(spec: ScheduleSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")


class Schedules(Repository):
    async def add(self, s: Schedule) -> Schedule:
        row = (
            await self.session.execute(
                insert(schedules)
                .values(
                    id=s.id,
                    tenant_id=s.tenant_id,
                    plan_id=s.plan_id,
                    spec=_spec(s.spec),
                    anchor_at=s.anchor_at,
                    last_due_at=s.last_due_at,
                    next_due_at=s.next_due_at,
                    created_by=s.created_by,
                )
                .returning(schedules)
            )
        ).one()
        return _schedule(row)

    async def get(self, schedule_id: UUID, *, lock: bool = False) -> Schedule | None:
        query = _SCHEDULE.where(schedules.c.id == schedule_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _schedule(row)

    async def page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Schedule]:
        """Up to `limit + 1` schedules, oldest first, after the cursor's (created_at, id)."""
        query = _SCHEDULE.order_by(schedules.c.created_at, schedules.c.id).limit(limit + 1)
        if after is not None:
            at, last = after
            query = query.where(
                or_(
                    schedules.c.created_at > at,
                    and_(schedules.c.created_at == at, schedules.c.id > last),
                )
            )
        return [_schedule(r) for r in (await self.session.execute(query)).all()]

    async def save(self, s: Schedule) -> Schedule:
        """Store an edit: the spec, its anchor and slots, one version more."""
        row = (
            await self.session.execute(
                update(schedules)
                .where(schedules.c.id == s.id)
                .values(
                    spec=_spec(s.spec),
                    plan_id=s.plan_id,
                    anchor_at=s.anchor_at,
                    last_due_at=s.last_due_at,
                    next_due_at=s.next_due_at,
                    version=schedules.c.version + 1,
                    updated_at=func.now(),
                )
                .returning(schedules)
            )
        ).one()
        return _schedule(row)

    async def advance(self, schedule_id: UUID, last: datetime, next_: datetime | None) -> None:
        """Slots up to `last` are dealt with; the next is `next_` (not an edit: same version)."""
        await self.session.execute(
            update(schedules)
            .where(schedules.c.id == schedule_id)
            .values(last_due_at=last, next_due_at=next_, updated_at=func.now())
        )

    async def remove(self, schedule_id: UUID) -> None:
        await self.session.execute(delete(schedules).where(schedules.c.id == schedule_id))

    # -- slots --

    async def record_slot(
        self,
        tenant_id: UUID,
        schedule_id: UUID,
        due_at: datetime,
        state: SlotState,
        *,
        reason: str | None = None,
        plan_version: int | None = None,
    ) -> bool:
        """Record what a slot did; False when it was dealt with already (by any instance):
        the caller then emits nothing."""
        stmt = (
            pg_insert(schedule_slots)
            .values(
                schedule_id=schedule_id,
                due_at=due_at,
                tenant_id=tenant_id,
                state=state.value,
                reason=None if reason is None else reason[:500],
                plan_version=plan_version,
            )
            .on_conflict_do_nothing(index_elements=["schedule_id", "due_at"])
            .returning(schedule_slots.c.due_at)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def queued(self, schedule_id: UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                schedule_slots.c.schedule_id == schedule_id,
                schedule_slots.c.state == SlotState.QUEUED.value,
            )
        )
        return int(count or 0)

    async def oldest_queued(self, schedule_id: UUID) -> Slot | None:
        row = (
            await self.session.execute(
                _SLOT.where(
                    schedule_slots.c.schedule_id == schedule_id,
                    schedule_slots.c.state == SlotState.QUEUED.value,
                )
                .order_by(schedule_slots.c.due_at)
                .limit(1)
                .with_for_update()
            )
        ).first()
        return None if row is None else _slot(row)

    async def settle_queued(
        self,
        schedule_id: UUID,
        due_at: datetime,
        state: SlotState,
        *,
        reason: str | None = None,
        plan_version: int | None = None,
    ) -> bool:
        """A queued slot fires (or is refused); False if it is no longer queued."""
        done = await self.session.execute(
            update(schedule_slots)
            .where(
                schedule_slots.c.schedule_id == schedule_id,
                schedule_slots.c.due_at == due_at,
                schedule_slots.c.state == SlotState.QUEUED.value,
            )
            .values(
                state=state.value,
                reason=None if reason is None else reason[:500],
                plan_version=plan_version,
                updated_at=func.now(),
            )
            .returning(schedule_slots.c.due_at)
        )
        return done.first() is not None

    async def slots_page(
        self, schedule_id: UUID, after: Sequence[CursorValue] | None, limit: int
    ) -> list[Slot]:
        """Up to `limit + 1` slots, newest first, before the cursor's due_at."""
        query = (
            _SLOT.where(schedule_slots.c.schedule_id == schedule_id)
            .order_by(schedule_slots.c.due_at.desc())
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(schedule_slots.c.due_at < after[0])
        return [_slot(r) for r in (await self.session.execute(query)).all()]


class ScheduleTargets(Repository):
    """What a slot runs, read when it fires from plan-service's tables: the pinned version
    or the label's, if the plan may run it now."""

    async def exists(self, plan_id: UUID) -> bool:
        found = await self.session.scalar(select(plans.c.id).where(plans.c.id == plan_id))
        return found is not None

    async def resolve(self, plan_id: UUID, version: int | None, label: str | None) -> Target:
        plan = (
            await self.session.execute(
                select(plans.c.status, plans.c.stale).where(plans.c.id == plan_id)
            )
        ).first()
        if plan is None:
            return Target(refused=f"plan_unknown: no plan {plan_id}")
        if plan.status == "archived":
            return Target(refused="plan_archived: the plan is archived")
        if plan.stale:
            return Target(
                refused="plan_stale: a requirement it cites changed; re-approve a version"
            )
        if version is None:
            version = await self.session.scalar(
                select(plan_labels.c.version).where(
                    plan_labels.c.plan_id == plan_id, plan_labels.c.name == label
                )
            )
            if version is None:
                return Target(refused=f"label_unknown: label {label!r} points at no version")
        approved = await self.session.scalar(
            select(plan_versions.c.approved_at).where(
                plan_versions.c.plan_id == plan_id, plan_versions.c.version == version
            )
        )
        if approved is None:
            return Target(refused=f"version_not_approved: version {version} is not approved")
        return Target(version=version)
