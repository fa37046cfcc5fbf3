"""Consumer progress: what handlers were handed, recorded before they run (the crash guard)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import consumer_progress

c = consumer_progress.c
_KEY = [c.group_id, c.topic, c.partition]


_INSERT = insert(consumer_progress)
_HANDING = _INSERT.on_conflict_do_update(
    index_elements=_KEY, set_={"fetched": func.greatest(c.fetched, _INSERT.excluded.fetched)}
)


class ProgressRepository(Repository):
    async def handing(self, group: str, lasts: Sequence[tuple[str, int, int]]) -> None:
        """Record that each (topic, partition)'s records up to offset `last` are about to be
        handed to handlers (one batched statement for a whole fetch)."""
        await self.session.execute(
            _HANDING,
            [{"group_id": group, "topic": t, "partition": p, "fetched": o} for t, p, o in lasts],
        )

    async def handed(self, group: str, topic: str, partition: int) -> int:
        """The furthest offset ever handed to handlers (-1: none)."""
        found = await self.session.scalar(
            select(c.fetched).where(c.group_id == group, c.topic == topic, c.partition == partition)
        )
        return -1 if found is None else int(found)

    async def started(self, group: str, topic: str, partition: int, offset: int) -> int:
        """Record that a careful re-run starts this record; how many times it has (0, 1, ...).

        A careful re-run applies a partition's records in order, so the furthest offset
        started is the only one that can have died unfinished. A record seen again at that
        offset died with its process: the count grows until the consumer gives up on it.
        A later offset starts at 1; an earlier one finished before and counts 0 (the row
        keeps the furthest, so redelivered earlier records cannot reset the count).
        """
        stmt = insert(consumer_progress).values(
            group_id=group, topic=topic, partition=partition, offset=offset, attempts=1
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=_KEY,
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
