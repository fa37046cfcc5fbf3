"""A session's turns, extractions and asked questions (append-only but a turn's status)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_discovery.repositories.sessions import changing
from agentsuite_discovery.repositories.tables import asked, extractions, turns
from agentsuite_kit.db import Repository

t = turns.c
e = extractions.c

PENDING = "pending"
ANSWERED = "answered"
FAILED = "failed"
RECENT_BATCH = 20


@dataclass(frozen=True, slots=True)
class TurnRecord:
    id: UUID
    seq: int
    role: str
    content: str
    status: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExtractionRecord:
    id: UUID
    turn_id: UUID | None
    obligation: str
    value: Any
    kind: str
    confidence: float
    relation: str
    supersedes: UUID | None
    applied: bool
    reason: str | None
    created_at: datetime


_TURN = [getattr(t, f) for f in TurnRecord.__dataclass_fields__]
_EXTRACTION = [getattr(e, f) for f in ExtractionRecord.__dataclass_fields__]


class Turns(Repository):
    async def add(
        self,
        turn_id: UUID,
        session_id: UUID,
        seq: int,
        role: str,
        content: str,
        status: str,
        *,
        session: Mapping[str, Any] | None = None,
        asked_question: str | None = None,
    ) -> TurnRecord:
        """Insert the turn; the row as stored (no read back). With it, in the same round
        trip (PostgreSQL runs every data-modifying CTE): the session's `Sessions.change`
        with `session`, and `asked_question` marked asked."""
        tenant = self.session.info["tenant"]
        statement = (
            insert(turns)
            .values(
                id=turn_id,
                tenant_id=tenant,
                session_id=session_id,
                seq=seq,
                role=role,
                content=content,
                status=status,
            )
            .returning(*_TURN)
        )
        if session is not None:
            statement = statement.add_cte(changing(session_id, session).cte("session_changed"))
        if asked_question is not None:
            marked = (
                pg_insert(asked)
                .values(tenant_id=tenant, session_id=session_id, question=asked_question)
                .on_conflict_do_nothing()
            )
            statement = statement.add_cte(marked.cte("question_asked"))
        row = (await self.session.execute(statement)).one()
        return TurnRecord(**dict(row._mapping))

    async def get(self, turn_id: UUID) -> TurnRecord | None:
        row = (await self.session.execute(select(*_TURN).where(t.id == turn_id))).first()
        return None if row is None else TurnRecord(**dict(row._mapping))

    async def end(self, turn_id: UUID, status: str, reason: str | None = None) -> None:
        await self.session.execute(
            update(turns).where(t.id == turn_id).values(status=status, reason=reason)
        )

    async def page(self, session_id: UUID, after: int | None, limit: int) -> list[TurnRecord]:
        query = select(*_TURN).where(t.session_id == session_id).order_by(t.seq)
        if after is not None:
            query = query.where(t.seq > after)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        return [TurnRecord(**dict(r._mapping)) for r in rows]

    async def recent(self, session_id: UUID, before: int, chars: int) -> list[TurnRecord]:
        """The latest turns before seq `before`, oldest first, together at most `chars`
        characters (read a batch at a time: a turn is at most `max_turn_chars`)."""
        taken: list[TurnRecord] = []
        total = 0
        upper = before
        while total < chars:
            rows = (
                await self.session.execute(
                    select(*_TURN)
                    .where(t.session_id == session_id, t.seq < upper)
                    .order_by(t.seq.desc())
                    .limit(RECENT_BATCH)
                )
            ).all()
            if not rows:
                break
            for row in rows:
                turn = TurnRecord(**dict(row._mapping))
                if total + len(turn.content) > chars:
                    return list(reversed(taken))
                taken.append(turn)
                total += len(turn.content)
            if len(rows) < RECENT_BATCH:
                break  # the session's first turn reached: no need to ask again
            upper = rows[-1].seq
        return list(reversed(taken))


class Extractions(Repository):
    async def add(self, session_id: UUID, rows: Iterable[dict[str, Any]]) -> None:
        values = [
            {"tenant_id": self.session.info["tenant"], "session_id": session_id, **row}
            for row in rows
        ]
        if values:
            await self.session.execute(insert(extractions), values)

    async def page(
        self, session_id: UUID, after: UUID | None, limit: int
    ) -> list[ExtractionRecord]:
        query = select(*_EXTRACTION).where(e.session_id == session_id).order_by(e.id)
        if after is not None:
            query = query.where(e.id > after)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        return [ExtractionRecord(**dict(r._mapping)) for r in rows]

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, ExtractionRecord]:
        if not ids:
            return {}
        rows = (await self.session.execute(select(*_EXTRACTION).where(e.id.in_(ids)))).all()
        return {r.id: ExtractionRecord(**dict(r._mapping)) for r in rows}


class Asked(Repository):
    # a question is marked asked with the agent's turn that asks it (`Turns.add`)
    async def keys(self, session_id: UUID) -> set[str]:
        rows = await self.session.execute(
            select(asked.c.question).where(asked.c.session_id == session_id)
        )
        return {r.question for r in rows}
