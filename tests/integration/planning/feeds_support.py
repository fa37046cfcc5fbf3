"""What the feeds' tests share: envelopes at fixed times, deliveries repeated and shuffled,
waiting on the inbox, reading the dead-letter topic."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import BindingKind, ToolBinding, ToolSpec
from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.registry import subject_of
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    """A fixed event time: tests order their events explicitly, never by the clock."""
    return T0 + timedelta(seconds=seconds)


def envelope(
    producer: str, payload: Payload, tenant_id: UUID | None, occurred_at: datetime
) -> Envelope[Any]:
    return Envelope[Any](
        producer=producer,
        tenant_id=tenant_id,
        subject=subject_of(payload),
        correlation_id=uuid4(),
        occurred_at=occurred_at,
        payload=payload,
    )


def timeline(producer: str, tenant: UUID, payloads: Sequence[Payload]) -> list[Envelope[Any]]:
    """One tenant's events a second apart, in order."""
    return [envelope(producer, p, tenant, at(i)) for i, p in enumerate(payloads)]


def deliveries(rng: random.Random, events: Sequence[Envelope[Any]]) -> list[Envelope[Any]]:
    """Each event 1-5 times (the same envelope again, or the fact in a new envelope), all
    shuffled across keys and within them."""
    out: list[Envelope[Any]] = []
    for event in events:
        out.append(event)
        for _ in range(rng.randint(0, 4)):
            again = event if rng.random() < 0.5 else event.model_copy(update={"id": uuid4()})
            out.append(again)
    rng.shuffle(out)
    return out


def tool_spec(name: str, version: str, schema: dict[str, Any] | None = None) -> ToolSpec:
    return ToolSpec(
        name=name,
        version=version,
        display_name=name,
        description=f"the {name} tool",
        input_schema=schema or {"type": "object"},
        output_schema={"type": "object"},
        binding=ToolBinding(kind=BindingKind.BUILTIN, target="echo"),
    )


async def applied(service: Service, group: str, events: Sequence[Envelope[Any]]) -> None:
    """Wait until the group's inbox holds every one of `events` (their effect committed)."""
    ids = list({e.id for e in events})

    async def done() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = :g AND event_id = ANY(:ids)",
            g=group,
            ids=ids,
        )
        return int(rows[0][0]) == len(ids)

    await eventually(done, within=90)


async def dead_letter(service: Service, group: str, event_id: UUID) -> DeadLetter:
    """The dead letter of event `event_id` on `group`'s dead-letter topic, once there."""
    found: list[DeadLetter] = []
    consumer = AIOKafkaConsumer(
        dead_letter_topic(group),
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    # the topic also holds other tests' poison: bytes that are not an envelope
                    if _id_of(r.value) == str(event_id):
                        headers = {k: v.decode() for k, v in r.headers}
                        found.append(DeadLetter.from_headers(headers))
            return bool(found)

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found[0]


def _id_of(value: bytes | None) -> object:
    try:
        decoded = json.loads(value or b"")
    except ValueError:
        return None
    return decoded.get("id") if isinstance(decoded, dict) else None
