"""Kafka request records and the response cache (owner: request/reply)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db.repository import Repository
from agentsuite_llm_gateway.repositories.tables import cache_entries, requests

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True, slots=True)
class RequestRow:
    request_id: UUID
    tenant_id: UUID
    requester: str
    reply_to: str
    status: str
    response: dict[str, Any] | None
    stale: bool  # pending for longer than the lease asked about
    instance_id: UUID | None = None  # the process that claimed it


def lock_key(request_id: UUID) -> int:
    """The advisory-lock key of a request: its first 8 bytes, as a signed bigint."""
    return int.from_bytes(request_id.bytes[:8], "big", signed=True)


_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def _seconds(n: float) -> Any:
    return func.make_interval(0, 0, 0, 0, 0, 0, float(n))


class Requests(Repository):
    async def claim(
        self, request_id: UUID, requester: str, reply_to: str, instance_id: UUID | None = None
    ) -> bool:
        """Record `request_id` as pending; False when it was already recorded (by anyone).

        The claim also takes the request's transaction-scoped advisory lock, so whoever
        `await_claim`s it waits until this transaction has committed or rolled back.
        """
        await self.session.execute(_LOCK, {"k": lock_key(request_id)})
        made = await self.session.scalar(
            insert(requests)
            .values(
                request_id=request_id,
                tenant_id=self.session.info["tenant"],
                requester=requester,
                reply_to=reply_to,
                status=PENDING,
                instance_id=instance_id,
            )
            .on_conflict_do_nothing(index_elements=[requests.c.request_id])
            .returning(requests.c.request_id)
        )
        return made is not None

    async def await_claim(self, request_id: UUID) -> str | None:
        """Wait until the claiming transaction ended; the status then (None: rolled back)."""
        await self.session.execute(_LOCK, {"k": lock_key(request_id)})
        status: str | None = await self.session.scalar(
            select(requests.c.status).where(requests.c.request_id == request_id)
        )
        return status

    async def load(self, request_id: UUID, lease: float) -> RequestRow | None:
        """The record (None: unknown, or another tenant's); `stale` if pending past `lease`."""
        row = (
            await self.session.execute(
                select(
                    requests.c.request_id,
                    requests.c.tenant_id,
                    requests.c.requester,
                    requests.c.reply_to,
                    requests.c.status,
                    requests.c.response,
                    (requests.c.created_at < func.now() - _seconds(lease)).label("stale"),
                    requests.c.instance_id,
                ).where(requests.c.request_id == request_id)
            )
        ).first()
        return None if row is None else RequestRow(*row)

    async def answer(self, request_id: UUID, response: dict[str, Any]) -> bool:
        """Store the response of a pending request; False if it was answered already."""
        done = await self.session.scalar(
            update(requests)
            .where(requests.c.request_id == request_id, requests.c.status == PENDING)
            .values(status=DONE, response=response, answered_at=func.now())
            .returning(requests.c.request_id)
        )
        return done is not None

    async def stale(self, lease: float, limit: int = 500) -> list[tuple[UUID, UUID]]:
        """(request_id, tenant_id) of requests pending past `lease`, oldest first."""
        rows = await self.session.execute(
            select(requests.c.request_id, requests.c.tenant_id)
            .where(
                requests.c.status == PENDING,
                requests.c.created_at < func.now() - _seconds(lease),
            )
            .order_by(requests.c.created_at)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows]

    async def claimants(self, mine: UUID, limit: int = 500) -> set[UUID]:
        """The instance ids of other processes with requests still pending: few (one per
        process), so the dead among them are found however many claims the live hold."""
        rows = await self.session.execute(
            select(requests.c.instance_id)
            .where(
                requests.c.status == PENDING,
                requests.c.instance_id.is_not(None),
                requests.c.instance_id != mine,
            )
            .distinct()
            .limit(limit)
        )
        return {r[0] for r in rows}

    async def held_by(
        self, instance_ids: Sequence[UUID], limit: int = 500
    ) -> list[tuple[UUID, UUID, UUID]]:
        """(request_id, tenant_id, instance_id) of the pending requests `instance_ids`
        claimed, oldest first."""
        if not instance_ids:
            return []
        rows = await self.session.execute(
            select(requests.c.request_id, requests.c.tenant_id, requests.c.instance_id)
            .where(requests.c.status == PENDING, requests.c.instance_id.in_(instance_ids))
            .order_by(requests.c.created_at)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def alive(self, ns: int, keys: Iterable[int]) -> set[int]:
        """Which of the instance lock `keys` (in namespace `ns`) a session holds now."""
        wanted = sorted(set(keys))
        if not wanted:
            return set()
        rows = await self.session.execute(_ALIVE, {"ns": ns, "keys": wanted})
        return {int(r[0]) for r in rows}


# every session's locks, whoever holds them (pg_locks shows all of this database's)
_ALIVE = text(
    "SELECT DISTINCT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND objsubid = 2 AND classid::bigint = :ns AND objid::bigint = ANY(:keys) "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class CacheEntries(Repository):
    async def hit(self, key: bytes, scope: str) -> tuple[dict[str, Any], datetime] | None:
        """The live entry's body and expiry, counting the hit; None if absent or expired."""
        row = (
            await self.session.execute(
                update(cache_entries)
                .where(
                    cache_entries.c.key == key,
                    cache_entries.c.scope == scope,
                    cache_entries.c.expires_at > func.now(),
                )
                .values(hits=cache_entries.c.hits + 1)
                .returning(cache_entries.c.body, cache_entries.c.expires_at)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def put(
        self, key: bytes, scope: str, model: str, body: dict[str, Any], ttl: float
    ) -> datetime:
        """Insert or replace the entry; its expiry."""
        expires = func.now() + _seconds(ttl)
        row = insert(cache_entries).values(
            tenant_id=self.session.info["tenant"],
            key=key,
            scope=scope,
            model=model,
            body=body,
            expires_at=expires,
        )
        stmt = row.on_conflict_do_update(
            index_elements=[cache_entries.c.tenant_id, cache_entries.c.key, cache_entries.c.scope],
            set_={
                "model": row.excluded.model,
                "body": row.excluded.body,
                "expires_at": row.excluded.expires_at,
                "created_at": func.now(),
            },
        ).returning(cache_entries.c.expires_at)
        expires_at: datetime = await self.session.scalar(stmt)
        return expires_at

    async def add_hits(self, counts: Sequence[tuple[bytes, str, int]]) -> None:
        """Add hits served from a process's memory to their rows."""
        for key, scope, n in counts:
            await self.session.execute(
                update(cache_entries)
                .where(and_(cache_entries.c.key == key, cache_entries.c.scope == scope))
                .values(hits=cache_entries.c.hits + n)
            )

    async def purge_expired(self, limit: int) -> int:
        """Delete up to `limit` expired entries (every tenant's in an all-tenants unit)."""
        doomed = (
            select(cache_entries.c.tenant_id, cache_entries.c.key, cache_entries.c.scope)
            .where(cache_entries.c.expires_at <= func.now())
            .limit(limit)
            .subquery()
        )
        gone = await self.session.execute(
            delete(cache_entries)
            .where(
                cache_entries.c.tenant_id == doomed.c.tenant_id,
                cache_entries.c.key == doomed.c.key,
                cache_entries.c.scope == doomed.c.scope,
            )
            .returning(cache_entries.c.tenant_id)
        )
        return len(gone.all())
