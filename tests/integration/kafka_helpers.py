"""Helpers shared by the Kafka integration tests: topics, consumers, waiting."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from pydantic import TypeAdapter
from sqlalchemy import func, select

from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.consumer import Consumer, broker_dead_letter, subscribe
from tests.integration.sample.model import NoteAdded, SampleUow, effects

ADAPTER: TypeAdapter[Envelope[Any]] = TypeAdapter(Envelope[NoteAdded])


async def fresh_topic(bootstrap: str, partitions: int = 3) -> str:
    name = f"sample.notes.{secrets.token_hex(4)}.v1"
    await ensure_topics(bootstrap, [(name, partitions)])
    return name


def note_event(tenant: UUID, body: str, correlation: UUID | None = None) -> Envelope[NoteAdded]:
    note = uuid4()
    return Envelope[NoteAdded](
        producer="sample",
        tenant_id=tenant,
        subject=Subject(type="note", id=str(note)),
        correlation_id=correlation or uuid4(),
        payload=NoteAdded(note_id=note, body=body),
    )


async def record_effect(envelope: Envelope[Any], uow: SampleUow) -> None:
    await uow.effects.record(envelope.id, envelope.tenant_id)


async def start_consumer(
    bootstrap: str,
    topic: str,
    uow: Callable[[UUID | None], SampleUow],
    handler: Callable[[Envelope[Any], SampleUow], Awaitable[None]] = record_effect,
    workers: int = 1,
    batch: int = 1,
) -> tuple[KafkaBroker, Consumer[SampleUow]]:
    broker = KafkaBroker(bootstrap, acks="all", log_level=logging.DEBUG)
    consumer = Consumer[SampleUow](
        name=f"sample-consumer-{topic}",
        topic=topic,
        adapter=ADAPTER,
        handler=handler,
        uow=uow,
        dead_letter=broker_dead_letter(broker),
        max_attempts=3,
        backoff=0.05,
        workers=workers,
        batch=batch,
    )
    subscribe(broker, consumer)
    await broker.start()
    return broker, consumer


async def effect_counts(uow: Callable[[UUID | None], SampleUow], tenant: UUID) -> tuple[int, int]:
    async with uow(tenant) as u:
        row = (
            await u.session.execute(
                select(func.count(), func.count(effects.c.event_id.distinct())).where(
                    effects.c.tenant_id == tenant
                )
            )
        ).one()
        return int(row[0]), int(row[1])


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 60.0, every: float = 0.1
) -> None:
    """Poll `check` until true; fail after `within` seconds (a hang guard, not a timing test)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s")
        await asyncio.sleep(every)


async def read_all(bootstrap: str, topic: str, expect: int, within: float = 30.0) -> list[Any]:
    """The first `expect` records of `topic` (all partitions)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
