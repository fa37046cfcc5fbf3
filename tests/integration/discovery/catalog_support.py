"""catalog's events as catalog's relay sends them (envelope with tenant and producer, keyed
by the topic's key), and what tests read back of discovery's catalog projection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import (
    AgentSpec,
    AgentUpdated,
    BindingKind,
    CatalogStatus,
    ToolBinding,
    ToolPublished,
    ToolSpec,
)
from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.discovery import Candidate
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import CATALOG_AGENTS_V1, CATALOG_TOOLS_V1
from tests.integration.discovery.harness import Service
from tests.integration.kafka_helpers import eventually, send

TOOLS, AGENTS = CATALOG_TOOLS_V1, CATALOG_AGENTS_V1
TOOLS_GROUP, AGENTS_GROUP = "discovery.catalog-tools", "discovery.catalog-agents"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: int) -> datetime:
    """A fixed event time: tests order their events explicitly, never by the clock."""
    return T0 + timedelta(seconds=seconds)


def envelope(
    payload: Payload, tenant_id: UUID | None, occurred_at: datetime | None = None
) -> Envelope[Any]:
    return Envelope[Any](
        producer="catalog",
        tenant_id=tenant_id,
        subject=subject_of(payload),
        correlation_id=uuid4(),
        occurred_at=occurred_at or datetime.now(UTC),
        payload=payload,
    )


def tool_spec(
    name: str, version: str = "1.0.0", description: str = "", tags: Sequence[str] = ()
) -> ToolSpec:
    return ToolSpec(
        name=name,
        version=version,
        display_name=name,
        description=description or f"the {name} tool",
        input_schema={"type": "object"},
        output_schema={"type": "object"},
        binding=ToolBinding(kind=BindingKind.BUILTIN, target="echo"),
        tags=list(tags),
    )


def tool_head(spec: ToolSpec, tool_id: UUID | None = None) -> ToolPublished:
    """`spec` as the tool's head, as catalog announces it."""
    return ToolPublished(
        tool_id=tool_id or uuid4(),
        name=spec.name,
        version=spec.version,
        tool_version_id=uuid4(),
        spec=spec,
    )


def agent_published(
    name: str, revision: int = 1, description: str = "", agent_id: UUID | None = None
) -> AgentUpdated:
    spec = AgentSpec(name=name, version=revision, description=description, instructions="You help.")
    return AgentUpdated(agent_id=agent_id or uuid4(), spec=spec, status=CatalogStatus.PUBLISHED)


async def publish(service: Service, topic: str, events: Sequence[Envelope[Any]]) -> None:
    await send(service.kafka, topic, events)


async def candidates(service: Service, tenant: UUID, *terms: str) -> list[Candidate]:
    async with service.deps.runtime.uow(tenant) as uow:
        return await uow.catalog.candidates(terms, 20)


async def named(service: Service, tenant: UUID, *terms: str) -> list[tuple[str, str, float]]:
    return [(c.kind, c.name, c.score) for c in await candidates(service, tenant, *terms)]


async def applied(service: Service, group: str, *events: Envelope[Any]) -> None:
    """Wait until the group's inbox holds every one of `events` (their effect committed)."""
    ids = [e.id for e in events]

    async def done() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = :g AND event_id = ANY(:ids)",
            g=group,
            ids=ids,
        )
        return int(rows[0][0]) == len(ids)

    await eventually(done, within=60)


async def row(service: Service, table: str, key: str, id_: UUID) -> Any:
    rows = await service.owner_sql(
        f"SELECT name, version, description, status, terms, event_id, as_of "
        f"FROM {table} WHERE {key} = :id",
        id=id_,
    )
    return rows[0] if rows else None


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
                        headers = {k: v.decode() for k, v in r.headers}
                        found.append(DeadLetter.from_headers(headers))
            return bool(found)

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found[0]
