"""Outbox -> broker -> consumer with inbox: every event applied exactly once, even when
the relay dies between sending and marking."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.identity import TenantCreated
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.db.tables import outbox
from agentsuite_kit.messaging.consumer import Outcome
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay, RelayRepository
from tests.integration.conftest import SampleDb
from tests.integration.kafka_helpers import (
    effect_counts,
    eventually,
    fresh_topic,
    note_event,
    reaches,
    start_consumer,
)
from tests.integration.sample.messages import NoteAdded
from tests.integration.sample.uow import SampleUow

ROOT = Path(__file__).parents[2]


async def write_events(
    uow: Callable[..., SampleUow], tenant: UUID, topic: str, n: int, per_tx: int = 50
) -> None:
    for start in range(0, n, per_tx):
        async with uow(tenant) as u:
            for i in range(start, min(n, start + per_tx)):
                event = note_event(tenant, f"note-{i}")
                await u.notes.add(event.payload.note_id, tenant, f"note-{i}")
                u.emit(event, topic=topic)
            await u.commit()


async def pending(engine: AsyncEngine, topic: str) -> int:
    async with engine.connect() as conn:
        # the outbox is under RLS; counting every tenant's rows is an explicit crossing
        await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
        q = select(func.count()).where(outbox.c.topic == topic, outbox.c.published_at.is_(None))
        return int(await conn.scalar(q) or 0)


async def test_rollback_writes_neither_state_nor_event(
    uow: Callable[..., SampleUow], app_engine: AsyncEngine
) -> None:
    tenant = uuid4()
    topic = "sample.never.v1"

    async def failing_handler() -> None:
        async with uow(tenant) as u:
            event = note_event(tenant, "doomed")
            await u.notes.add(event.payload.note_id, tenant, "doomed")
            u.emit(event, topic=topic)
            raise RuntimeError("handler failed before commit")

    with pytest.raises(RuntimeError):
        await failing_handler()
    async with uow(tenant) as u:
        assert await u.notes.all() == []
    assert await pending(app_engine, topic) == 0


@pytest.mark.parametrize("batch", [False, True], ids=["one-by-one", "batched"])
async def test_relay_dying_after_send_before_mark_applies_each_event_once(
    uow: Callable[..., SampleUow],
    app_engine: AsyncEngine,
    kafka_bootstrap: str,
    batch: bool,
) -> None:
    tenant, n = uuid4(), 300
    topic = await fresh_topic(kafka_bootstrap)
    await write_events(uow, tenant, topic, n)
    assert await pending(app_engine, topic) == n

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    running = await start_consumer(kafka_bootstrap, topic, uow, batch=batch)
    consumer = running.consumer
    try:
        dying = OutboxRelay(app_engine, ProducerSender(producer), batch_size=120)
        async with app_engine.connect() as conn, conn.begin():
            repo = RelayRepository(conn)
            await repo.scope()
            sent = await repo.pending(120)
        await dying.publish(sent)  # sent and acknowledged, never marked: the crash window
        assert await pending(app_engine, topic) == n
        # the outbox is the database's, not this topic's: rows other tests left pending (a
        # test that runs no relay) may be in the batch, and only this topic's come back here
        again = sum(1 for record in sent if record.topic == topic)
        assert again > 0

        relay = OutboxRelay(app_engine, ProducerSender(producer), batch_size=120)
        while await relay.step():
            pass
        assert await pending(app_engine, topic) == 0

        # 420 deliveries one by one, each its own transaction: on a loaded machine this takes
        # long, so the guard is on progress stopping, not on a deadline
        await reaches(lambda: sum(consumer.counts.values()), n + again)
        assert await effect_counts(uow, tenant) == (n, n)
        assert consumer.counts[Outcome.APPLIED] == n
        assert consumer.counts[Outcome.DUPLICATE] == again
    finally:
        await running.stop()
        await producer.stop()


async def test_relay_killed_mid_run_then_restarted_applies_each_event_once(
    sample_db: SampleDb,
    uow: Callable[..., SampleUow],
    app_engine: AsyncEngine,
    kafka_bootstrap: str,
) -> None:
    tenant, n = uuid4(), 2000
    topic = await fresh_topic(kafka_bootstrap)
    await write_events(uow, tenant, topic, n, per_tx=200)
    running = await start_consumer(kafka_bootstrap, topic, uow)
    consumer = running.consumer

    def spawn() -> asyncio.subprocess.Process:
        return asyncio.create_subprocess_exec(  # type: ignore[return-value]  # awaited below
            sys.executable,
            "-m",
            "tests.integration.sample.relay",
            sample_db.app_url,
            kafka_bootstrap,
            "20",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    try:
        first = await spawn()  # type: ignore[misc]  # create_subprocess_exec is a coroutine

        async def some_published() -> bool:
            return await pending(app_engine, topic) < n

        await eventually(some_published, every=0.01)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        left = await pending(app_engine, topic)
        assert 0 < left < n, "the kill must land mid-run"

        second = await spawn()  # type: ignore[misc]  # create_subprocess_exec is a coroutine
        try:

            async def drained() -> bool:
                return await pending(app_engine, topic) == 0

            await eventually(drained)
        finally:
            second.send_signal(signal.SIGTERM)
            await second.wait()

        async def applied() -> bool:
            return consumer.counts[Outcome.APPLIED] >= n

        await eventually(applied)
        await asyncio.sleep(1.0)  # let any trailing duplicates arrive before counting
        assert await effect_counts(uow, tenant) == (n, n)
        assert consumer.counts[Outcome.APPLIED] == n
        assert consumer.counts[Outcome.DEAD_LETTERED] == 0
    finally:
        await running.stop()


async def test_emit_routes_by_registry_and_keys_by_subject(
    uow: Callable[..., SampleUow], app_engine: AsyncEngine
) -> None:
    tenant = uuid4()
    event = Envelope[TenantCreated](
        producer="identity",
        tenant_id=tenant,
        subject=Subject(type="tenant", id=str(tenant)),
        correlation_id=uuid4(),
        payload=TenantCreated(tenant_id=tenant, slug="acme", name="Acme"),
    )
    async with uow(tenant) as u:
        u.emit(event)
        await u.commit()
    async with uow(tenant) as u:
        row = (
            await u.session.execute(
                select(
                    outbox.c.topic, outbox.c.key, outbox.c.type, outbox.c.tenant_id, outbox.c.value
                ).where(outbox.c.event_id == event.id)
            )
        ).one()
        # leave nothing pending for the relays of other tests
        await u.session.execute(outbox.delete().where(outbox.c.event_id == event.id))
        await u.commit()
    assert tuple(row[:4]) == (IDENTITY_TENANTS_V1, str(tenant), "identity.tenant.created", tenant)
    assert Envelope[TenantCreated].model_validate_json(row.value).sequence == 1


async def test_aggregates_of_two_tenants_sharing_a_key_are_numbered_apart(
    uow: Callable[..., SampleUow],
) -> None:
    # a key like a slug may repeat across tenants; each tenant's aggregate counts from 1
    topic = f"sample.slugs.{uuid4().hex[:8]}.v1"
    emitted = []
    for tenant in (uuid4(), uuid4()):
        async with uow(tenant) as u:
            for body in ("a", "b"):
                event = note_event(tenant, body)
                u.emit(event, topic=topic, key="acme")
                emitted.append((tenant, event.id))
            await u.commit()
    for tenant, _ in emitted[::2]:
        async with uow(tenant) as u:
            values = (
                await u.session.execute(
                    select(outbox.c.value).where(outbox.c.topic == topic).order_by(outbox.c.id)
                )
            ).scalars()
            seqs = [Envelope[NoteAdded].model_validate_json(v).sequence for v in values]
            await u.session.execute(outbox.delete().where(outbox.c.topic == topic))
            await u.commit()
        assert seqs == [1, 2]
