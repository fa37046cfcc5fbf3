"""Poison on every topic planning consumes: bytes that are not JSON, an envelope of a type
no registry knows, one of a known type in another tenant's name with a payload that does
not parse, one with no tenant. Each is dead-lettered or skipped and every group's offset
moves past all of them: no partition stays stuck behind a bad record."""

from __future__ import annotations

import json
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TEMPLATES_V1,
    CATALOG_TOOLS_V1,
    DISCOVERY_SESSIONS_V1,
    EXECUTION_EXECUTIONS_V1,
    IDENTITY_TENANTS_V1,
    LLM_PROVIDERS_V1,
    LLM_RESPONSES_PLANNING_V1,
)
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service


def poison(topic: str) -> list[bytes]:
    def envelope(kind: str, payload: object, tenant: object) -> bytes:
        return json.dumps(
            {
                "id": str(uuid4()),
                "type": kind,
                "producer": "someone",
                "occurred_at": "2026-01-01T00:00:00Z",
                "tenant_id": tenant,
                "subject": str(uuid4()),
                "correlation_id": str(uuid4()),
                "payload": payload,
            }
        ).encode()

    known = {
        CATALOG_TOOLS_V1: "catalog.tool.published",
        CATALOG_AGENTS_V1: "catalog.agent.published",
        CATALOG_TEMPLATES_V1: "catalog.template.published",
        LLM_PROVIDERS_V1: "llm.model.registered",
        EXECUTION_EXECUTIONS_V1: "execution.started",
        DISCOVERY_SESSIONS_V1: "discovery.session.completed",
        LLM_RESPONSES_PLANNING_V1: "llm.response.completed",
        IDENTITY_TENANTS_V1: "identity.tenant.suspended",
    }.get(topic, "x.y.z")
    return [
        b"\x00\xff not json",
        b"[]",
        b'{"type": "' + b"a" * 5000 + b'"}',
        envelope("nobody.knows.this", {"a": 1}, str(uuid4())),
        envelope(known, {"price": "free", "version": -1, "x": "\u0000"}, str(uuid4())),
        envelope(known, {"deep": json.loads("[" * 300 + "]" * 300)}, None),
        envelope(known, {}, "not-a-uuid"),
    ]


async def test_poison_on_every_consumed_topic_never_stops_a_group(service: Service) -> None:
    specs = [(f"planning.{s.name}", t) for s in service.deps.runtime.specs for t in s.topics]
    assert len(specs) >= 6, specs
    producer = AIOKafkaProducer(bootstrap_servers=service.kafka, acks="all")
    await producer.start()
    ends: dict[tuple[str, TopicPartition], int] = {}
    try:
        for group, topic in specs:
            for n, value in enumerate(poison(topic)):
                meta = await producer.send_and_wait(topic, value, key=str(n).encode())
                tp = TopicPartition(topic, meta.partition)
                ends[(group, tp)] = max(ends.get((group, tp), 0), meta.offset + 1)
    finally:
        await producer.stop()

    readers = {
        g: AIOKafkaConsumer(bootstrap_servers=service.kafka, group_id=g, enable_auto_commit=False)
        for g, _ in ends
    }
    for reader in readers.values():
        await reader.start()
    behind: dict[str, str] = {}
    try:

        async def caught_up() -> bool:
            behind.clear()
            for (group, tp), end in ends.items():
                at = await readers[group].committed(tp)
                if at is None or at < end:
                    behind[f"{group} {tp.topic}[{tp.partition}]"] = f"{at} < {end}"
            return not behind

        try:
            await eventually(caught_up, within=120)
        except AssertionError:
            raise AssertionError(f"groups stuck behind poison: {behind}") from None
    finally:
        for reader in readers.values():
            await reader.stop()
