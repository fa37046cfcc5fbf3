"""The outbox relay: publishes what units of work wrote to the outbox, in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_kit.db.tables import outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One message waiting to be published, exactly as it will go on the wire."""

    id: int
    event_id: UUID
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]


class Sender(Protocol):
    """Sends one record; the returned awaitable completes when the broker acknowledged it."""

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]: ...


# Only one relay per database publishes at a time: two would interleave a key's events.
_LEADER_LOCK = 0x6F7574626F78  # "outbox"


class OutboxRelay:
    """Publishes pending outbox rows in id order, in batches, retrying with backoff.

    At-least-once: a row is marked published only after the broker acknowledged it, so a
    relay killed mid-batch re-sends what it had not marked; consumers dedupe by event id.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sender: Sender,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        retention: timedelta = timedelta(hours=24),
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retention = retention
        self.published = 0

    async def fetch(self) -> list[OutboxRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    outbox.c.id,
                    outbox.c.event_id,
                    outbox.c.topic,
                    outbox.c.key,
                    outbox.c.value,
                    outbox.c.headers,
                )
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self.batch_size)
            )
            return [OutboxRecord(*row) for row in rows]

    async def publish(self, batch: Sequence[OutboxRecord]) -> tuple[list[int], dict[int, str]]:
        """Send a batch; return the ids safe to mark published and the errors by id.

        After a key's first failure its later rows in the batch are not marked either, so
        the retry re-sends that key's events in their original order.
        """
        futures = [
            await self.sender.send(r.topic, r.key.encode(), r.value, r.headers) for r in batch
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        done: list[int] = []
        failed: dict[int, str] = {}
        broken: set[tuple[str, str]] = set()
        for record, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException) or (record.topic, record.key) in broken:
                broken.add((record.topic, record.key))
                failed[record.id] = repr(result) if isinstance(result, BaseException) else "held"
            else:
                done.append(record.id)
        return done, failed

    async def mark(self, done: list[int], failed: dict[int, str]) -> None:
        async with self.engine.begin() as conn:
            if done:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(done))
                    .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
                )
            for row_id, error in failed.items():
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(attempts=outbox.c.attempts + 1, last_error=error[:2000])
                )

    async def purge(self) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(outbox).where(outbox.c.published_at < func.now() - self.retention)
            )
            return int(result.rowcount or 0)

    async def step(self) -> int:
        """One fetch-send-mark round; the number of rows published."""
        batch = await self.fetch()
        if not batch:
            return 0
        done, failed = await self.publish(batch)
        await self.mark(done, failed)
        self.published += len(done)
        if failed:
            raise PublishError(f"{len(failed)} of {len(batch)} outbox rows not published")
        return len(done)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, as the only relay of this database."""
        async with self.engine.connect() as lock_conn:
            while not stop.is_set():
                got = await lock_conn.scalar(text(f"SELECT pg_try_advisory_lock({_LEADER_LOCK})"))
                await lock_conn.commit()
                if got:
                    break
                await _sleep_or_stop(stop, max(self.poll_interval, 1.0))
            try:
                await self._loop(stop)
            finally:
                await lock_conn.execute(text(f"SELECT pg_advisory_unlock({_LEADER_LOCK})"))
                await lock_conn.commit()

    async def _loop(self, stop: asyncio.Event) -> None:
        delay = self.backoff_initial
        rounds = 0
        while not stop.is_set():
            try:
                sent = await self.step()
                delay = self.backoff_initial
            except Exception:
                log.exception("outbox relay round failed; retrying in %.1fs", delay)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            rounds += 1
            if rounds % 1000 == 0:
                await self.purge()
            if sent < self.batch_size:
                await _sleep_or_stop(stop, self.poll_interval)


class PublishError(RuntimeError):
    """Some rows of a batch were not acknowledged by the broker."""


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
