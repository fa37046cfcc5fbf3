"""Sessions and the state of their obligations (RLS confines both to the tenant)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.discovery import ObligationStatus
from agentsuite_discovery.domain.sessions import ObligationState, State
from agentsuite_discovery.repositories.tables import llm_calls, session_obligations, sessions
from agentsuite_kit.db import Repository
from agentsuite_kit.llm import PENDING

s = sessions.c
o = session_obligations.c

GATHERING = "gathering"
THINKING = "thinking"
COMPLETED = "completed"
ABANDONED = "abandoned"
CLOSED = (COMPLETED, ABANDONED)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: UUID
    user_id: UUID
    objective: str
    objective_version: int
    title: str
    status: str
    question: dict[str, Any] | None
    turns: int
    tokens: int
    next_seq: int
    version: int
    requirements: dict[str, Any] | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


_COLUMNS = [getattr(s, f) for f in SessionRecord.__dataclass_fields__]


def _record(row: Any) -> SessionRecord:
    return SessionRecord(**dict(row._mapping))


class Sessions(Repository):
    async def add(
        self,
        session_id: UUID,
        user_id: UUID,
        objective: str,
        version: int,
        title: str,
    ) -> None:
        await self.session.execute(
            insert(sessions).values(
                id=session_id,
                tenant_id=self.session.info["tenant"],
                user_id=user_id,
                objective=objective,
                objective_version=version,
                title=title,
                status=GATHERING,
            )
        )

    async def get(self, session_id: UUID, *, lock: bool = False) -> SessionRecord | None:
        query = select(*_COLUMNS).where(s.id == session_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _record(row)

    async def page(self, user_id: UUID, after: UUID | None, limit: int) -> Sequence[SessionRecord]:
        """The user's sessions, newest first (ids are uuid7: time-ordered)."""
        query = select(*_COLUMNS).where(s.user_id == user_id).order_by(s.id.desc())
        if after is not None:
            query = query.where(s.id < after)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        return [_record(r) for r in rows]

    async def change(self, session_id: UUID, **values: Any) -> None:
        """Set `values` and bump the version readers watch."""
        await self.session.execute(
            update(sessions)
            .where(s.id == session_id)
            .values(version=s.version + 1, updated_at=func.now(), **values)
        )

    async def version(self, session_id: UUID) -> tuple[int, str] | None:
        """The session's version and status (what an event stream polls)."""
        row = (
            await self.session.execute(select(s.version, s.status).where(s.id == session_id))
        ).first()
        return None if row is None else (row.version, row.status)

    # --- obligations ----------------------------------------------------------------------

    async def state(self, session_id: UUID) -> State:
        rows = (
            await self.session.execute(
                select(
                    o.key,
                    o.status,
                    o.confidence,
                    o.value,
                    o.extraction_id,
                    o.contested_by,
                    o.contested_value,
                    o.contested_confidence,
                ).where(o.session_id == session_id)
            )
        ).all()
        return {
            r.key: ObligationState(
                key=r.key,
                status=ObligationStatus(r.status),
                confidence=r.confidence,
                value=r.value,
                extraction_id=r.extraction_id,
                contested_by=r.contested_by,
                contested_value=r.contested_value,
                contested_confidence=r.contested_confidence,
            )
            for r in rows
        }

    async def save_state(self, session_id: UUID, states: Iterable[ObligationState]) -> None:
        """Write these obligations' states (new rows or changed ones)."""
        rows = [
            {
                "tenant_id": self.session.info["tenant"],
                "session_id": session_id,
                "key": st.key,
                "status": st.status.value,
                "confidence": st.confidence,
                "value": st.value,
                "extraction_id": st.extraction_id,
                "contested_by": st.contested_by,
                "contested_value": st.contested_value,
                "contested_confidence": st.contested_confidence,
            }
            for st in states
        ]
        if not rows:
            return
        stmt = pg_insert(session_obligations)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[o.session_id, o.key],
                set_={
                    "status": stmt.excluded.status,
                    "confidence": stmt.excluded.confidence,
                    "value": stmt.excluded.value,
                    "extraction_id": stmt.excluded.extraction_id,
                    "contested_by": stmt.excluded.contested_by,
                    "contested_value": stmt.excluded.contested_value,
                    "contested_confidence": stmt.excluded.contested_confidence,
                },
            ),
            rows,
        )

    # --- its LLM calls --------------------------------------------------------------------

    async def pending_calls(self, session_id: UUID) -> list[dict[str, Any]]:
        c = llm_calls.c
        rows = await self.session.execute(
            select(*llm_calls.c).where(c.session_id == session_id, c.state == PENDING)
        )
        return [dict(r._mapping) for r in rows]
