"""Durable timers, approvals, LLM calls in flight, and each run's event log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, update

from agentsuite_execution.repositories.tables import (
    approvals,
    executions,
    llm_calls,
    log,
    timers,
)
from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_kit.db.scoped import ScopedConnection


@dataclass(frozen=True)
class Timer:
    timer_id: int
    tenant_id: UUID
    execution_id: UUID
    key: str | None
    kind: str
    due_at: datetime
    attempt: int | None
    payload: dict[str, Any]
    created_at: datetime


class Timers(Repository):
    async def add(
        self,
        execution_id: UUID,
        kind: str,
        due_at: datetime,
        *,
        key: str | None = None,
        attempt: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        await self.session.execute(
            insert(timers).values(
                tenant_id=self.session.info["tenant"],
                execution_id=execution_id,
                key=key,
                kind=kind,
                due_at=due_at,
                attempt=attempt,
                payload=payload or {},
            )
        )

    async def due(self, limit: int) -> list[Timer]:
        """Timers come due, oldest first; a frozen paused run's wait (see `shift`)."""
        t = timers.c
        frozen = (
            select(executions.c.execution_id)
            .where(
                executions.c.execution_id == t.execution_id,
                executions.c.status == "paused",
                executions.c.pause_timers == "freeze",
            )
            .exists()
        )
        query = (
            select(*timers.c).where(t.due_at <= func.now(), ~frozen).order_by(t.due_at).limit(limit)
        )
        return [Timer(**dict(r._mapping)) for r in (await self.session.execute(query)).all()]

    async def take(self, timer_id: int) -> Timer | None:
        """Delete the timer and return it; None when another engine fired it first."""
        query = delete(timers).where(timers.c.timer_id == timer_id).returning(*timers.c)
        row = (await self.session.execute(query)).first()
        return None if row is None else Timer(**dict(row._mapping))

    async def remove(self, timer_id: int) -> None:
        await self.session.execute(delete(timers).where(timers.c.timer_id == timer_id))

    async def cancel(
        self, execution_id: UUID, *, key: str | None = None, kinds: Sequence[str] | None = None
    ) -> None:
        t = timers.c
        query = delete(timers).where(t.execution_id == execution_id)
        if key is not None:
            query = query.where(t.key == key)
        if kinds is not None:
            query = query.where(t.kind.in_(list(kinds)))
        await self.session.execute(query)

    async def shift(self, execution_id: UUID, by: timedelta, *, set_before: datetime) -> None:
        """Move a frozen run's timers later by the time it was paused: those set before
        the pause (one set during it counts from its own start)."""
        t = timers.c
        query = (
            update(timers)
            .where(t.execution_id == execution_id, t.created_at <= set_before)
            .values(due_at=t.due_at + by)
        )
        await self.session.execute(query)

    async def of(self, execution_id: UUID) -> list[Timer]:
        query = select(*timers.c).where(timers.c.execution_id == execution_id)
        return [Timer(**dict(r._mapping)) for r in (await self.session.execute(query)).all()]


class Approvals(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(
            insert(approvals).values(tenant_id=self.session.info["tenant"], **values)
        )

    async def get(self, approval_id: UUID, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(*approvals.c).where(approvals.c.approval_id == approval_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else dict(row._mapping)

    async def pending(self, execution_id: UUID, key: str | None = None) -> list[dict[str, Any]]:
        a = approvals.c
        query = select(*approvals.c).where(a.execution_id == execution_id, a.state == "pending")
        if key is not None:
            query = query.where(a.key == key)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def of(self, execution_id: UUID) -> list[dict[str, Any]]:
        a = approvals.c
        query = select(*approvals.c).where(a.execution_id == execution_id).order_by(a.created_at)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def decide(self, approval_id: UUID, **values: Any) -> None:
        query = (
            update(approvals)
            .where(approvals.c.approval_id == approval_id)
            .values({"decided_at": func.now(), **values})
        )
        await self.session.execute(query)

    async def close_pending(self, execution_id: UUID, state: str) -> None:
        a = approvals.c
        query = (
            update(approvals)
            .where(a.execution_id == execution_id, a.state == "pending")
            .values(state=state, decided_at=func.now())
        )
        await self.session.execute(query)


class LlmCalls(Repository):
    """execution's reads of its LLM calls; the kit's client writes them
    (`agentsuite_kit.llm.Calls`, `engine.calls.CLIENT`)."""

    async def pending_of(self, execution_id: UUID, key: str | None = None) -> list[dict[str, Any]]:
        c = llm_calls.c
        query = select(*llm_calls.c).where(c.execution_id == execution_id, c.state == "pending")
        if key is not None:
            query = query.where(c.key == key)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def of(self, execution_id: UUID) -> list[dict[str, Any]]:
        c = llm_calls.c
        query = select(*llm_calls.c).where(c.execution_id == execution_id).order_by(c.created_at)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]


class Log(Repository):
    def __init__(self, session: ScopedConnection) -> None:
        super().__init__(session)
        # this transaction's rows, written in one statement with its events
        self._queued: list[dict[str, Any]] = []

    def queue(self, row: dict[str, Any]) -> None:
        """A row for the log, written when the unit of work writes its events."""
        self._queued.append(row)

    async def flush(self) -> None:
        rows, self._queued = self._queued, []
        await self.add(rows)

    async def add(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(log), list(rows))

    async def after(
        self, execution_id: UUID, seq: int | None, limit: int, *, key: str | None = None
    ) -> list[dict[str, Any]]:
        c = log.c
        query = select(*log.c).where(c.execution_id == execution_id)
        if key is not None:
            query = query.where(c.key == key)
        query = keyset(query, [c.seq], None if seq is None else (seq,), limit)
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]
