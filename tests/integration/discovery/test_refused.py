"""Poison input on discovery's consumers, through the real broker: an event that contradicts
itself is dead-lettered at once with its reason, and the state does not change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.identity import TenantSuspended
from agentsuite_contracts.llm import LlmResponse
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1, LLM_RESPONSES_DISCOVERY_V1
from agentsuite_kit.db.outbox import encode
from tests.integration.discovery.harness import Service, send
from tests.integration.discovery.llm_support import User
from tests.integration.kafka_helpers import eventually


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
                    if json.loads(r.value)["id"] == str(event_id):
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

    letter = await dead_letter(service, "discovery.tenants", event.id)
    assert letter.reason == "invalid"
    assert "tenant_mismatch" in letter.error
    for tenant in (sender, named):
        async with service.deps.runtime.uow(tenant) as uow:
            assert await uow.tenants.status(tenant) is None


async def test_a_malformed_llm_answer_is_dead_lettered_and_the_session_waits_on(
    service: Service,
) -> None:
    user = User(service)
    view = await user.open()
    answer = LlmResponse(request_id=uuid4(), requester="discovery", status="ok", latency_ms=1)
    event = Envelope[Any](
        producer="llm-gateway",
        tenant_id=user.tenant,
        subject=subject_of(answer),
        correlation_id=uuid4(),
        payload=answer,
    )
    value, headers = encode(event)
    broken = json.loads(value)
    broken["payload"]["latency_ms"] = "soon"  # not a number: no LlmResponse
    producer = AIOKafkaProducer(bootstrap_servers=service.kafka, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            LLM_RESPONSES_DISCOVERY_V1,
            json.dumps(broken).encode(),
            key=str(answer.request_id).encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
    finally:
        await producer.stop()

    letter = await dead_letter(service, "discovery.responses", event.id)
    assert letter.reason == "invalid"
    assert (await user.session(view["id"]))["status"] == "gathering"
