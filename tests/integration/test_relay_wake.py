"""A leading relay is woken by a commit of its own process that wrote outbox rows: the row is
published at once, not after the poll interval (which stays the fallback for rows other
processes write). The relay here polls once an hour, so only the wake can publish in time."""

from __future__ import annotations

import asyncio
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay
from tests.integration.test_relay import (  # noqa: F401  # producer, topic: fixtures used here
    emit,
    ping,
    producer,
    read,
    topic,
    until,
)

HOUR = 3600.0


async def test_a_committed_row_is_published_without_waiting_out_the_poll_interval(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,  # noqa: F811  # the fixture imported above
    topic: str,  # noqa: F811  # the fixture imported above
    kafka_bootstrap: str,
) -> None:
    tenant = uuid4()
    await emit(app_engine, tenant, topic, [("a", "before")])
    relay = OutboxRelay(app_engine, ProducerSender(producer), poll_interval=HOUR)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.supervise(stop))
    try:
        await until(lambda: relay.published == 1)  # its first round; now it sleeps an hour
        await emit(app_engine, tenant, topic, [("a", "by a unit of work")])
        # a consumer's held unit of work commits with `finish()`: it wakes the relay too
        async with UnitOfWork(app_engine, tenant_id=tenant, held=True) as uow:
            uow.emit(ping(tenant, "by a consumer"), topic=topic, key="b")
            await uow.commit()
            await uow.finish()
        await until(lambda: relay.published == 3)
        assert sorted(await read(kafka_bootstrap, topic, 3)) == [
            "before",
            "by a consumer",
            "by a unit of work",
        ]
    finally:
        stop.set()
        await task


async def test_a_rolled_back_unit_of_work_writes_nothing_for_the_relay_to_find(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,  # noqa: F811  # the fixture imported above
    topic: str,  # noqa: F811  # the fixture imported above
    kafka_bootstrap: str,
) -> None:
    # the wake rides on the commit: rows flushed and then rolled back wake nobody, and a
    # later commit still does (the dropped hook left no stale state behind)
    tenant = uuid4()
    relay = OutboxRelay(app_engine, ProducerSender(producer), poll_interval=HOUR)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.supervise(stop))
    try:
        await until(lambda: relay.leading)
        async with UnitOfWork(app_engine, tenant_id=tenant) as uow:
            uow.emit(ping(tenant, "rolled back"), topic=topic, key="a")
            await uow.flush_events()
            await uow.rollback()
        await emit(app_engine, tenant, topic, [("a", "kept")])
        await until(lambda: relay.published == 1)
        assert await read(kafka_bootstrap, topic, 1) == ["kept"]
    finally:
        stop.set()
        await task
