"""The relay keeps every event through a broker outage: it backs off, records the error on
the rows without charging them (an outage parks nothing), reports itself unhealthy, and
publishes once the broker is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_cli.embedded import EmbeddedBroker, free_port
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay, RelayUnhealthy
from tests.integration.test_relay import emit, eventually, read, rows, until


async def test_relay_retries_through_a_broker_restart(
    app_engine: AsyncEngine, tmp_path: Path
) -> None:
    # a broker of our own, to stop and start; memory storage forgets topics on restart
    broker = EmbeddedBroker(tmp_path, free_port())
    broker.start()
    topic = "relay.outage.v1"
    await ensure_topics(broker.bootstrap, [(topic, 3)])
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", request_timeout_ms=2000
    )
    await producer.start()
    tenant = uuid4()

    def start_relay() -> tuple[OutboxRelay, asyncio.Event, asyncio.Task[None]]:
        relay = OutboxRelay(
            app_engine,
            ProducerSender(producer),
            poll_interval=0.05,
            backoff_initial=0.1,
            backoff_max=1,
            max_attempts=2,  # an outage must not count toward parking
            stale_after=1.0,
        )
        stop = asyncio.Event()
        return relay, stop, asyncio.create_task(relay.supervise(stop))

    async def pending() -> int:
        return sum(r["published_at"] is None for r in (await rows(app_engine, topic)).values())

    relay, stop, task = start_relay()
    try:
        await emit(app_engine, tenant, topic, [(f"k{i % 4}", f"first{i}") for i in range(20)])

        async def all_published() -> bool:
            return await pending() == 0

        await eventually(all_published)
        relay.check()

        broker.stop()
        await emit(app_engine, tenant, topic, [(f"k{i % 4}", f"during{i}") for i in range(30)])

        async def errors_recorded() -> bool:
            stored = (await rows(app_engine, topic)).values()
            return any(r["last_error"] and r["published_at"] is None for r in stored)

        await eventually(errors_recorded, within=30)
        await until(lambda: relay.last_round < time.monotonic() - 1.0)
        with pytest.raises(RelayUnhealthy, match="no successful round"):
            relay.check()  # /readyz says so while the broker is away
        stored = (await rows(app_engine, topic)).values()
        assert await pending() == 30  # nothing dropped
        assert all(r["parked_at"] is None for r in stored)
        assert all(r["attempts"] == 0 for r in stored if r["published_at"] is None)

        # Tansu's memory storage forgets topics and auto-creates them on produce with its
        # own partition count, so the topic is recreated before a relay may publish again
        stop.set()
        await task
        broker.start()
        await ensure_topics(broker.bootstrap, [(topic, 3)])
        relay, stop, task = start_relay()
        await eventually(all_published, within=30)
        relay.check()

        got = set(await read(broker.bootstrap, topic, 30))
        assert {f"during{i}" for i in range(30)} <= got
        assert not task.done()
    finally:
        stop.set()
        await task
        await producer.stop()
        broker.stop()
