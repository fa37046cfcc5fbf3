"""The relay keeps every event through a broker outage: it retries with backoff, records
the error on the row, and publishes once the broker is back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

from faststream.kafka import KafkaBroker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_cli.embedded import EmbeddedBroker, free_port
from agentsuite_kit.db.tables import outbox
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.broker import BrokerSender
from agentsuite_kit.outbox import OutboxRelay
from tests.integration.kafka_helpers import eventually, note_event, read_all
from tests.integration.sample.model import SampleUow


async def emit(uow: Callable[[UUID | None], SampleUow], topic: str, n: int) -> list[UUID]:
    tenant = uuid4()
    ids = []
    async with uow(tenant) as u:
        for i in range(n):
            event = note_event(tenant, f"o{i}")
            u.emit(event, topic=topic)
            ids.append(event.id)
        await u.commit()
    return ids


async def test_relay_retries_through_a_broker_restart(
    uow: Callable[[UUID | None], SampleUow], app_engine: AsyncEngine, tmp_path: Path
) -> None:
    # a broker of our own, to stop and start; memory storage forgets topics on restart
    broker = EmbeddedBroker(tmp_path, free_port())
    broker.start()
    topic = "sample.outage.v1"
    await ensure_topics(broker.bootstrap, [(topic, 3)])
    producer = KafkaBroker(broker.bootstrap, acks="all", request_timeout_ms=2000)
    await producer.start()

    def start_relay() -> tuple[asyncio.Event, asyncio.Task[None]]:
        relay = OutboxRelay(
            app_engine,
            BrokerSender(producer),
            poll_interval=0.05,
            backoff_initial=0.1,
            backoff_max=1,
        )
        stop = asyncio.Event()
        return stop, asyncio.create_task(relay.run(stop))

    stop, task = start_relay()

    async def count(*where: object) -> int:
        async with app_engine.connect() as conn:
            q = select(func.count()).where(outbox.c.topic == topic, *where)  # type: ignore[arg-type]  # column expressions
            return int(await conn.scalar(q) or 0)

    try:
        await emit(uow, topic, 20)

        async def first_published() -> bool:
            return await count(outbox.c.published_at.is_(None)) == 0

        await eventually(first_published)

        broker.stop()
        during = await emit(uow, topic, 30)

        async def failing_recorded() -> bool:
            return (
                await count(outbox.c.last_error.is_not(None), outbox.c.published_at.is_(None)) > 0
            )

        await eventually(failing_recorded)
        assert await count(outbox.c.published_at.is_(None)) == 30  # nothing dropped

        # Tansu's memory storage forgets topics and auto-creates them on produce with its
        # own partition count, so the topic is recreated before a relay may publish again
        stop.set()
        await task
        assert await count(outbox.c.published_at.is_(None)) == 30
        broker.start()
        await ensure_topics(broker.bootstrap, [(topic, 3)])
        stop, task = start_relay()
        await eventually(first_published)

        records = await read_all(broker.bootstrap, topic, expect=30)
        got = {dict(r.headers)["event-id"].decode() for r in records}
        assert {str(i) for i in during} <= got
        assert not task.done()
    finally:
        stop.set()
        await task
        await producer.stop()
        broker.stop()
