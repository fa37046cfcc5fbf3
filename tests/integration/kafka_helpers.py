"""Helpers shared by the Kafka integration tests: topics, consumers, waiting."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import TypeAdapter
from sqlalchemy import func, select

from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.registry import partition_key
from agentsuite_kit.db.outbox import encode
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.consumer import Consumer, Outcome
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.messaging.policy import RetryPolicy
from agentsuite_kit.messaging.producer import publisher
from tests.integration.sample.messages import NoteAdded, sample_registry
from tests.integration.sample.repositories import effects
from tests.integration.sample.uow import SampleUow

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


FAST = RetryPolicy(tiers=(0.2, 0.4), handler_timeout=5.0, transient_backoff=(0.05, 0.5))
"""Retry tiers short enough for tests: fail -> tier 1 (0.2 s) -> tier 2 (0.4 s) -> DLQ."""


@dataclass
class Running:
    """A started consumer group with its producer (for retries and dead letters)."""

    group: ConsumerGroup[SampleUow]
    producer: AIOKafkaProducer

    @property
    def consumer(self) -> Consumer[SampleUow]:
        return self.group.consumer

    async def stop(self) -> None:
        await self.group.stop()
        await self.producer.stop()


async def start_consumer(
    bootstrap: str,
    topic: str,
    uow: Callable[..., SampleUow],
    handler: Callable[[Envelope[Any], SampleUow], Awaitable[None]] = record_effect,
    workers: int = 1,
    batch: bool = False,
    fetch: int = 500,
    policy: RetryPolicy = FAST,
    group: str | None = None,
) -> Running:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    consumer = Consumer[SampleUow](
        group=group or f"sample.consumer-{topic}",
        handlers={NoteAdded: handler},
        uow=uow,
        publish=publisher(producer),
        policy=policy,
        batch=batch,
    )
    running = ConsumerGroup[SampleUow](
        consumer,
        topic,
        bootstrap,
        progress=lambda: uow(None),
        workers=workers,
        fetch=fetch,
        registry=sample_registry(topic),
    )
    await running.start()
    return Running(running, producer)


async def effect_counts(uow: Callable[..., SampleUow], tenant: UUID) -> tuple[int, int]:
    async with uow(tenant) as u:
        row = (
            await u.session.execute(
                select(func.count(), func.count(effects.c.event_id.distinct())).where(
                    effects.c.tenant_id == tenant
                )
            )
        ).one()
        return int(row[0]), int(row[1])


async def reaches(
    count: Callable[[], int], target: int, *, stall: float = 60.0, every: float = 0.1
) -> None:
    """Poll `count` until it reaches `target`; fail only when it has not moved for `stall`
    seconds (a hang guard that a slow machine working through hundreds of events passes)."""
    loop = asyncio.get_running_loop()
    seen, moved = count(), loop.time()
    while seen < target:
        if loop.time() - moved > stall:
            raise AssertionError(f"stuck at {seen} of {target} for {stall}s")
        await asyncio.sleep(every)
        now = count()
        if now != seen:
            seen, moved = now, loop.time()


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


async def produce(bootstrap: str, topic: str, values: list[bytes], key: bytes = b"k") -> None:
    """Put raw values on `topic`, one key: in order on one partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def counted(
    consumer: Consumer[Any], outcome: Outcome, at_least: int, within: float = 60.0
) -> None:
    """Wait until `consumer` has ended at least `at_least` records with `outcome`."""

    async def reached() -> bool:
        return consumer.counts[outcome] >= at_least

    await eventually(reached, within=within)


async def send(kafka: str, topic: str, envelopes: Sequence[Envelope[Any]]) -> None:
    """The envelopes in order, each keyed as the producer's relay keys it."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for item in envelopes:
            value, headers = encode(item)
            await producer.send_and_wait(
                topic,
                value,
                key=partition_key(item, topic).encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """Every partition of `topic`, from metadata asked for that topic. A consumer's
    `topics()` fetches every topic's metadata but does not keep it, so its
    `partitions_for_topic` answers None on Apache Kafka (Tansu's metadata happened to hold
    every topic already)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        numbers = await producer.partitions_for(topic)
    finally:
        await producer.stop()
    return [TopicPartition(topic, p) for p in sorted(numbers)]
