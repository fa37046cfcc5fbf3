"""Inbox: the event ids a consumer applied, recorded in the transaction of the effect."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import inbox


class InboxRepository(Repository):
    async def claim(self, consumer: str, event_id: UUID, topic: str) -> bool:
        """Record `event_id` as applied by `consumer`; False if it already was.

        Because the row commits with the effect, a redelivered event finds it and is
        skipped, and a rolled-back effect leaves no row, so the retry applies it.
        """
        return event_id in await self.claim_many(consumer, [(event_id, topic)])

    async def claim_many(self, consumer: str, events: list[tuple[UUID, str]]) -> set[UUID]:
        """`claim` for many (event id, topic) pairs in one statement; the newly claimed ids."""
        if not events:
            return set()
        result = await self.session.execute(
            insert(inbox)
            .values([{"consumer": consumer, "event_id": e, "topic": t} for e, t in events])
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        return set(result.scalars())
