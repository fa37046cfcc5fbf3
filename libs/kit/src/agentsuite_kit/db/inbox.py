"""Inbox: the event ids a consumer applied, recorded in the transaction of the effect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import inbox

# One statement object, parameters passed separately: SQLAlchemy compiles it once and
# batches the rows into one INSERT (insertmanyvalues); `.values([...])` recompiled per call.
_CLAIM = insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
# driver SQL: the consumer's hottest statement skips SQLAlchemy's compile and bind steps
_CLAIM_RUN = (
    "INSERT INTO inbox (consumer, event_id, topic, tenant_id) "
    "SELECT $1, e, t, $4 FROM unnest($2::uuid[], $3::text[]) AS u(e, t) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)


class InboxRepository(Repository):
    async def claim(
        self, consumer: str, event_id: UUID, topic: str, tenant_id: UUID | None = None
    ) -> bool:
        """Record `event_id` as applied by `consumer`; False if it already was.

        Because the row commits with the effect, a redelivered event finds it and is
        skipped, and a rolled-back effect leaves no row, so the retry applies it.
        """
        return event_id in await self.claim_many(consumer, [(event_id, topic, tenant_id)])

    async def claim_many(
        self, consumer: str, events: Sequence[tuple[UUID, str, UUID | None]]
    ) -> set[UUID]:
        """`claim` for many (event id, topic, tenant) in one statement; the newly claimed."""
        if not events:
            return set()
        tenants = {tid for _, _, tid in events}
        if len(tenants) == 1:
            # one tenant (every consumer run): arrays in one statement, no per-row parameters
            [tenant] = tenants
            ids = [e for e, _, _ in events]
            topics = [t for _, t, _ in events]
            result = await self.session.exec_driver_sql(_CLAIM_RUN, (consumer, ids, topics, tenant))
            return set(result.scalars())
        result = await self.session.execute(
            _CLAIM,
            [
                {"consumer": consumer, "event_id": e, "topic": t, "tenant_id": tid}
                for e, t, tid in events
            ],
        )
        return set(result.scalars())

    async def prune(self, older_than: timedelta) -> int:
        """Forget ids applied longer ago than any redelivery can come (needs all tenants)."""
        result = await self.session.execute(
            delete(inbox).where(inbox.c.applied_at < func.now() - older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)
