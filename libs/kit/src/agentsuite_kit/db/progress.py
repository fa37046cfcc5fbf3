"""Consumer progress: the start of a handler recorded before it runs (the crash guard)."""

from __future__ import annotations

from sqlalchemy import case, func
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import consumer_progress


class ProgressRepository(Repository):
    async def started(self, group: str, topic: str, partition: int, offset: int) -> int:
        """Record that a handler starts on this record; how many times it has (0, 1, 2, ...).

        A partition's records are applied in order, so the furthest offset started is
        the only one that can have died unfinished. A record seen again at that offset
        died with its process: the count grows until the consumer gives up on it. A
        later offset starts at 1; an earlier one finished before and counts 0 (the row
        keeps the furthest, so redelivered earlier records cannot reset the count).
        """
        c = consumer_progress.c
        stmt = insert(consumer_progress).values(
            group_id=group, topic=topic, partition=partition, offset=offset, attempts=1
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=[c.group_id, c.topic, c.partition],
            set_={
                "offset": func.greatest(c.offset, stmt.excluded.offset),
                "attempts": case(
                    (c.offset == stmt.excluded.offset, c.attempts + 1),
                    (c.offset < stmt.excluded.offset, 1),
                    else_=c.attempts,
                ),
                "updated_at": func.now(),
            },
        ).returning(c.offset, c.attempts)
        stored, attempts = (await self.session.execute(upsert)).one()
        return int(attempts) if int(stored) == offset else 0
