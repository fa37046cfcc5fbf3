"""The relay's SQL: every query the outbox relay runs, on its own lock-holding connection.

Each transaction starts with `scope()`, which lifts RLS for it (the outbox holds every
tenant's rows) and tells in the same statement whether the session still holds the
leader lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import BigInteger, any_, delete, exists, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsuite_kit.db.rls import ALL_TENANTS_SETTING
from agentsuite_kit.db.tables import outbox

# Only one relay per database publishes at a time: two would interleave a key's events.
LEADER_LOCK = 0x6F7574626F78  # "outbox"
# Every relay transaction reads and writes every tenant's rows (outbox is under RLS); the
# same statement tells whether this session still holds the lock (a bigint advisory key
# shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1).
SCOPE = text(
    "SELECT set_config(:setting, 'on', true), EXISTS ("
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND granted AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)"
).bindparams(setting=ALL_TENANTS_SETTING, hi=LEADER_LOCK >> 32, lo=LEADER_LOCK & 0xFFFFFFFF)
PENDING = (outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One message waiting to be published, exactly as it will go on the wire."""

    id: int
    event_id: UUID
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    attempts: int
    delay: float
    park: bool


@dataclass(frozen=True, slots=True)
class Parked:
    id: int
    topic: str
    key: str
    type: str
    attempts: int
    error: str | None
    parked_at: datetime


class RelayRepository:
    """The relay's SQL, on a connection whose transaction `scope()` opened."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def scope(self) -> bool:
        """Lift RLS for this transaction; whether this session holds the leader lock."""
        return bool((await self.conn.execute(SCOPE)).one()[1])

    async def pending(self, limit: int, *, waits: bool = True) -> list[OutboxRecord]:
        """The oldest sendable rows: none of a key at or after its row that backs off.

        `waits=False` (no row is known to back off) skips that filter, which reads every
        pending row; the plain query reads `limit` rows off the `outbox_pending` index.
        """
        query = select(
            outbox.c.id,
            outbox.c.event_id,
            outbox.c.topic,
            outbox.c.key,
            outbox.c.value,
            outbox.c.headers,
            outbox.c.attempts,
        ).where(*PENDING)
        if waits:
            # materialized: the few waiting keys are found once, not once per row
            waiting = (
                select(outbox.c.topic, outbox.c.key, func.min(outbox.c.id).label("first"))
                .where(*PENDING, outbox.c.next_attempt_at > func.now())
                .group_by(outbox.c.topic, outbox.c.key)
                .cte("waiting")
                .prefix_with("MATERIALIZED")
            )
            query = query.where(
                ~exists().where(
                    waiting.c.topic == outbox.c.topic,
                    waiting.c.key == outbox.c.key,
                    waiting.c.first <= outbox.c.id,
                )
            )
        rows = await self.conn.execute(query.order_by(outbox.c.id).limit(limit))
        return [OutboxRecord(*row) for row in rows]

    async def waiting_for(self) -> float | None:
        """Seconds until the last backing-off row is due (None: no row backs off)."""
        seconds = await self.conn.scalar(
            select(func.extract("epoch", func.max(outbox.c.next_attempt_at) - func.now())).where(
                *PENDING, outbox.c.next_attempt_at > func.now()
            )
        )
        return None if seconds is None else float(seconds)

    async def published(self, ids: Sequence[int]) -> None:
        if ids:
            await self.conn.execute(
                update(outbox)
                # one array parameter: a prepared statement reused for every batch size
                .where(outbox.c.id == any_(literal(list(ids), ARRAY(BigInteger))))
                .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
            )

    async def failed(self, row_id: int, error: str, v: Verdict) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                attempts=v.attempts,
                last_error=error[:2000],
                next_attempt_at=func.now() + timedelta(seconds=v.delay),
                parked_at=func.now() if v.park else None,
            )
        )

    async def noted(self, row_id: int, error: str) -> None:
        """Record an error without charging the row (a broker outage)."""
        await self.conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(last_error=error[:2000])
        )

    async def stats(self) -> tuple[int, float, int]:
        """(pending rows, age in seconds of the oldest, parked rows)."""
        unparked = outbox.c.parked_at.is_(None)
        row = (
            await self.conn.execute(
                select(
                    func.count().filter(unparked),
                    func.extract(
                        "epoch", func.now() - func.min(outbox.c.created_at).filter(unparked)
                    ),
                    func.count().filter(outbox.c.parked_at.is_not(None)),
                ).where(outbox.c.published_at.is_(None))
            )
        ).one()
        return int(row[0]), float(row[1] or 0.0), int(row[2])

    async def purge(self, retention: timedelta) -> int:
        result = await self.conn.execute(
            delete(outbox).where(outbox.c.published_at < func.now() - retention)
        )
        return int(result.rowcount or 0)

    async def parked(self, limit: int | None = None) -> list[Parked]:
        rows = await self.conn.execute(
            select(
                outbox.c.id,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.type,
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.parked_at,
            )
            .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [Parked(*row) for row in rows]

    async def unpark(self, ids: Sequence[int] | None) -> int:
        """Put parked rows back in line with a fresh attempt count (all when `ids` is None)."""
        stmt = (
            update(outbox)
            .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None))
            .values(parked_at=None, next_attempt_at=None, attempts=0)
        )
        if ids is not None:
            stmt = stmt.where(outbox.c.id.in_(ids))
        result = await self.conn.execute(stmt)
        return int(result.rowcount or 0)


async def parked_rows(engine: AsyncEngine, limit: int | None = None) -> list[Parked]:
    """Every tenant's parked outbox rows, oldest first."""
    async with engine.connect() as conn, conn.begin():
        repo = RelayRepository(conn)
        await repo.scope()
        return await repo.parked(limit)


async def retry_parked(engine: AsyncEngine, ids: Sequence[int] | None) -> int:
    """Un-park `ids` (every parked row when None); the number un-parked."""
    async with engine.connect() as conn, conn.begin():
        repo = RelayRepository(conn)
        await repo.scope()
        return await repo.unpark(ids)
