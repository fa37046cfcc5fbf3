"""Drafts: one per completed discovery session (RLS confines every read to the tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db import Repository
from agentsuite_planning.repositories.tables import drafts

PENDING = "pending"
DRAFTED = "drafted"
FAILED = "failed"

d = drafts.c
_COLUMNS = (
    d.id,
    d.session_id,
    d.state,
    d.via,
    d.template_key,
    d.request_id,
    d.plan_id,
    d.error,
    d.requested_by,
    d.repairs,
    d.created_at,
    d.updated_at,
)


@dataclass(frozen=True, slots=True)
class DraftRecord:
    id: UUID
    session_id: UUID
    state: str
    via: str
    template_key: str | None
    request_id: UUID | None
    plan_id: UUID | None
    error: str | None
    requested_by: str | None
    repairs: list[str]
    created_at: datetime
    updated_at: datetime


def _record(row: Any) -> DraftRecord:
    return DraftRecord(**{c.name: getattr(row, c.name) for c in _COLUMNS})


class Drafts(Repository):
    async def add(
        self,
        draft_id: UUID,
        session_id: UUID,
        *,
        via: str,
        requested_by: str | None,
        requirements: dict[str, Any] | None,
        template_key: str | None = None,
    ) -> bool:
        """A pending draft of `session_id`; False when the session has one already (a
        redelivered `session.completed`)."""
        done = await self.session.execute(
            insert(drafts)
            .values(
                id=draft_id,
                tenant_id=self.session.info["tenant"],
                session_id=session_id,
                state=PENDING,
                via=via,
                template_key=template_key,
                requested_by=requested_by,
                requirements=requirements,
            )
            .on_conflict_do_nothing(constraint="uq_drafts_session")
            .returning(d.id)
        )
        return done.first() is not None

    async def get(self, draft_id: UUID, *, lock: bool = False) -> DraftRecord | None:
        query = select(*_COLUMNS).where(d.id == draft_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _record(row)

    async def requirements(self, draft_id: UUID) -> dict[str, Any] | None:
        row = (await self.session.execute(select(d.requirements).where(d.id == draft_id))).first()
        return None if row is None else row.requirements

    async def page(
        self, session_id: UUID | None, after: UUID | None, limit: int
    ) -> Sequence[DraftRecord]:
        """The tenant's drafts, newest first (ids are uuid7: time-ordered)."""
        query = select(*_COLUMNS).order_by(d.id.desc())
        if session_id is not None:
            query = query.where(d.session_id == session_id)
        if after is not None:
            query = query.where(d.id < after)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        return [_record(r) for r in rows]

    async def change(self, draft_id: UUID, **values: Any) -> None:
        await self.session.execute(
            update(drafts).where(d.id == draft_id).values(updated_at=func.now(), **values)
        )
