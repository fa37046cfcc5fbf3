"""Consumers: parse, dedupe through the inbox, apply in one unit of work, dead-letter poison.

A message that cannot be parsed, or whose handler still fails after `max_attempts`, is
published to `<topic>.dlq` with the error in its headers and its offset is committed, so
the partition keeps moving and nothing is lost: `redrive` puts it back later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from pydantic import TypeAdapter, ValidationError

from agentsuite_contracts.deadletter import PREFIX, DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.logging import correlation_id

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)


@dataclass(frozen=True, slots=True)
class Record:
    """A consumed Kafka record, independent of the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead-lettered"


DeadLetterSender = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]


@dataclass
class Consumer(Generic[U]):
    """One consumer group on one topic: `handler(envelope, uow)` applies an event."""

    name: str
    topic: str
    adapter: TypeAdapter[Envelope[Any]]
    handler: Callable[[Envelope[Any], U], Awaitable[None]]
    uow: Callable[[UUID | None], U]
    dead_letter: DeadLetterSender
    max_attempts: int = 3
    backoff: float = 0.2
    workers: int = 1  # >1: one Kafka consumer per worker in the group, partitions in parallel
    batch: int = 1  # >1: fetch up to this many records at once, apply per-tenant runs together
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    async def process(self, record: Record) -> Outcome:
        """Apply one record: parse, dedupe, handle, commit; retry, then dead-letter."""
        [outcome] = await self.process_many([record])
        return outcome

    async def process_many(self, records: Sequence[Record]) -> list[Outcome]:
        """Apply records in order, each tenant's consecutive run in one transaction.

        One transaction per run amortises the round trips; if any event of the run fails,
        the run is rolled back and its events are applied one by one, so a poison event
        is isolated (retried, then dead-lettered) and the others still apply once.
        """
        outcomes: list[Outcome] = []
        parsed: list[tuple[Record, Envelope[Any]]] = []
        for record in records:
            try:
                # extra="ignore": a producer may already send optional fields added later
                # in this version, which an older consumer must accept (contracts rule 5)
                parsed.append((record, self.adapter.validate_json(record.value, extra="ignore")))
            except ValidationError as exc:
                await self._bury(record, "invalid", _short(exc))
                outcomes.append(Outcome.DEAD_LETTERED)
        for tenant, run in groupby(parsed, key=lambda pair: pair[1].tenant_id):
            items = list(run)
            if len(items) == 1:
                outcomes.append(await self._apply_one(*items[0]))
                continue
            try:
                outcomes.extend(await self._apply_run(tenant, items))
            except Exception as exc:  # any failure: fall back to isolating each event
                log.info(
                    "consumer %s: run of %d failed (%r); one by one", self.name, len(items), exc
                )
                outcomes.extend([await self._apply_one(r, e) for r, e in items])
        for outcome in outcomes:
            self.counts[outcome] += 1
        return outcomes

    async def _apply_run(
        self, tenant: UUID | None, items: list[tuple[Record, Envelope[Any]]]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self.uow(tenant) as uow:
            fresh = await uow.inbox.claim_many(
                self.name, [(envelope.id, record.topic) for record, envelope in items]
            )
            for _record, envelope in items:
                if envelope.id in fresh:
                    fresh.discard(envelope.id)  # a second copy in this run is a duplicate
                    await self.handler(envelope, uow)
                    outcomes.append(Outcome.APPLIED)
                else:
                    outcomes.append(Outcome.DUPLICATE)
            await uow.commit()
        return outcomes

    async def _apply_one(self, record: Record, envelope: Envelope[Any]) -> Outcome:
        token = correlation_id.set(str(envelope.correlation_id))
        try:
            error: Exception | None = None
            for attempt in range(1, self.max_attempts + 1):
                try:
                    [outcome] = await self._apply_run(envelope.tenant_id, [(record, envelope)])
                    return outcome
                except Exception as exc:  # a handler may fail in any way; retried, then DLQ
                    error = exc
                    log.warning(
                        "consumer %s failed on %s (attempt %d/%d): %r",
                        self.name,
                        envelope.id,
                        attempt,
                        self.max_attempts,
                        exc,
                    )
                    if attempt < self.max_attempts:
                        await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            await self._bury(record, "handler-failed", repr(error))
            return Outcome.DEAD_LETTERED
        finally:
            correlation_id.reset(token)

    async def _bury(
        self, record: Record, reason: Literal["invalid", "handler-failed"], error: str
    ) -> None:
        headers = {k: v for k, v in record.headers.items() if not k.startswith(PREFIX)}
        headers |= DeadLetter(
            reason=reason,
            error=error[:4000],
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            consumer=self.name,
            failed_at=datetime.now(UTC),
        ).headers()
        log.error(
            "dead-lettering %s[%d]@%d: %s: %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
            error[:500],
        )
        await self.dead_letter(dead_letter_topic(record.topic), record.key, record.value, headers)


def _short(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10])


def broker_dead_letter(broker: KafkaBroker) -> DeadLetterSender:
    """Dead-letter through `broker`, waiting for the ack so the offset commit is safe."""

    async def send(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await broker.publish(value, topic, key=key, headers=headers)

    return send


def _record(raw: Any) -> Record:
    return Record(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers={k: v.decode(errors="replace") for k, v in raw.headers},
    )


def subscribe(broker: KafkaBroker, consumer: Consumer[Any]) -> None:
    """Register `consumer` on `broker` as a faststream subscriber (an entrypoint only).

    NACK_ON_ERROR: if even the DLQ publish fails, seek back and redeliver, never skip.
    """
    if consumer.batch > 1:

        @broker.subscriber(
            consumer.topic,
            group_id=consumer.name,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True,
            max_records=consumer.batch,
            title=consumer.name,
        )
        async def on_batch(message: KafkaMessage) -> None:
            raw = message.raw_message
            records = raw if isinstance(raw, tuple) else (raw,)
            await consumer.process_many([_record(r) for r in records])

        return

    @broker.subscriber(
        consumer.topic,
        group_id=consumer.name,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_workers=consumer.workers,
        title=consumer.name,
    )
    async def on_message(message: KafkaMessage) -> None:
        raw = message.raw_message
        # a non-batch subscriber always gets one ConsumerRecord, never a tuple
        assert not isinstance(raw, tuple)
        await consumer.process(_record(raw))
