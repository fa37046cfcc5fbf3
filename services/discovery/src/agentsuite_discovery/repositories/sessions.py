"""Sessions and the state of their obligations (RLS confines both to the tenant)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Update, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.discovery import ObligationStatus
from agentsuite_contracts.identity import TenantStatus
from agentsuite_discovery.domain.sessions import ObligationState, State
from agentsuite_discovery.repositories.tables import (
    llm_calls,
    session_obligations,
    sessions,
    tenant_states,
)
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


@dataclass(frozen=True, slots=True)
class Held:
    """A session (locked for a change, or not) with what a change to it reads."""

    record: SessionRecord
    state: State
    tenant: TenantStatus | None  # what identity last said of the session's tenant


def _record(row: Any) -> SessionRecord:
    return SessionRecord(**dict(row._mapping))


_STATE = (
    "key",
    "status",
    "confidence",
    "value",
    "extraction_id",
    "contested_by",
    "contested_value",
    "contested_confidence",
)
# labelled: a session's own `status` is in the same row
_STATE_AS = [getattr(o, f).label(f"o_{f}") for f in _STATE]


def _state(row: Any, prefix: str = "") -> ObligationState:
    m = row._mapping
    return ObligationState(
        key=m[prefix + "key"],
        status=ObligationStatus(m[prefix + "status"]),
        confidence=m[prefix + "confidence"],
        value=m[prefix + "value"],
        extraction_id=m[prefix + "extraction_id"],
        contested_by=m[prefix + "contested_by"],
        contested_value=m[prefix + "contested_value"],
        contested_confidence=m[prefix + "contested_confidence"],
    )


def changing(session_id: UUID, values: Mapping[str, Any]) -> Update:
    """`Sessions.change`'s statement (a turn's insert runs it too, in the same round trip)."""
    return (
        update(sessions)
        .where(s.id == session_id)
        .values(version=s.version + 1, updated_at=func.now(), **values)
    )


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

    async def held(self, session_id: UUID, *, lock: bool = False) -> Held | None:
        """The session, its obligations' states and its tenant's status in one round trip
        (a turn needs all three)."""
        tenant = (
            select(tenant_states.c.status)
            .where(tenant_states.c.tenant_id == s.tenant_id)
            .scalar_subquery()
            .label("tenant_status")
        )
        query = (
            select(*_COLUMNS, *_STATE_AS, tenant)
            .select_from(sessions.outerjoin(session_obligations, o.session_id == s.id))
            .where(s.id == session_id)
        )
        if lock:
            query = query.with_for_update(of=sessions)
        rows = (await self.session.execute(query)).all()
        if not rows:
            return None
        first = rows[0]._mapping
        return Held(
            record=SessionRecord(**{f: first[f] for f in SessionRecord.__dataclass_fields__}),
            state={r.o_key: _state(r, "o_") for r in rows if r.o_key is not None},
            tenant=None if first["tenant_status"] is None else TenantStatus(first["tenant_status"]),
        )

    async def page(self, user_id: UUID, after: UUID | None, limit: int) -> Sequence[SessionRecord]:
        """The user's sessions, newest first (ids are uuid7: time-ordered)."""
        query = select(*_COLUMNS).where(s.user_id == user_id).order_by(s.id.desc())
        if after is not None:
            query = query.where(s.id < after)
        rows = (await self.session.execute(query.limit(limit + 1))).all()
        return [_record(r) for r in rows]

    async def change(self, session_id: UUID, **values: Any) -> None:
        """Set `values` and bump the version readers watch."""
        await self.session.execute(changing(session_id, values))

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
                select(*(getattr(o, f) for f in _STATE)).where(o.session_id == session_id)
            )
        ).all()
        return {r.key: _state(r) for r in rows}

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
