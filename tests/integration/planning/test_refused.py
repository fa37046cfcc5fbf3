"""Poison input on planning's consumers, through the real broker: an event that contradicts
itself is dead-lettered at once with its reason, and the state does not change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.identity import TenantSuspended
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service, send


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
                        found.append(DeadLetter.from_headers({k: v.decode() for k, v in r.headers}))
            return bool(found)

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found[0]


async def test_a_tenant_event_sent_in_another_tenants_name_is_dead_lettered(
    service: Service,
) -> None:
    sender, named = uuid4(), uuid4()
    payload = TenantSuspended(tenant_id=named, reason="forged")
    event = Envelope[Any](
        producer="identity",
        tenant_id=sender,
        subject=subject_of(payload),
        correlation_id=uuid4(),
        occurred_at=datetime.now(UTC),
        payload=payload,
    )
    await send(service.kafka, IDENTITY_TENANTS_V1, [event])

    letter = await dead_letter(service, "planning.tenants", event.id)
    assert letter.reason == "invalid"
    assert "tenant_mismatch" in letter.error
    for tenant in (sender, named):
        async with service.deps.runtime.uow(tenant) as uow:
            assert await uow.tenants.status(tenant) is None


def _id_of(value: bytes | None) -> object:
    try:
        decoded = json.loads(value or b"")
    except ValueError:
        return None
    return decoded.get("id") if isinstance(decoded, dict) else None
