"""What the drafting tests share: a session's `session.completed` as discovery sends it, a
scripted model on the real gateway, the plans it answers, and reading a draft's outcome."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.discovery import (
    Finding,
    ObligationKind,
    ObligationStatus,
    Requirements,
    SessionCompleted,
)
from agentsuite_contracts.envelope import Actor, Envelope
from agentsuite_contracts.registry import decode, subject_of
from agentsuite_contracts.topic_names import LLM_RESPONSES_PLANNING_V1
from tests.integration.kafka_helpers import eventually, partitions_of
from tests.integration.llm_gateway import setup
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.planning.harness import SIGNER, Service

MODEL = "planning"  # the `draft_model` setting's default
PRICE = ("1000", "1000")
SETTLE = 90.0  # seconds a draft may take through the broker and the gateway (loaded CI)


async def scripted(gw: Gateway, tenant: UUID, entries: list[dict[str, Any]]) -> None:
    pid = await setup.provider(
        gw, tenant, "scripted", None, kind="local", options={"script": entries}
    )
    await setup.model(gw, tenant, pid, MODEL, upstream="script", price=PRICE)


def completed(tenant: UUID, user: UUID, session: UUID, marker: str) -> Envelope[Any]:
    payload = SessionCompleted(
        session_id=session,
        requirements=Requirements(
            objective="workflow",
            objective_version=1,
            goal=f"{marker} tell customers about outages",
            findings=[
                Finding(
                    obligation="channel",
                    title="Channel",
                    kind=ObligationKind.INPUT,
                    required=True,
                    status=ObligationStatus.SATISFIED,
                    value="email",
                    confidence=0.9,
                    required_confidence=0.8,
                    extraction_id=uuid4(),
                )
            ],
            completeness=1.0,
        ),
    )
    return Envelope[Any](
        producer="discovery",
        tenant_id=tenant,
        actor=Actor(kind="user", id=str(user)),
        subject=subject_of(payload),
        correlation_id=uuid4(),
        payload=payload,
    )


def tool(key: str, deps: list[str] | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "name": key,
        "kind": "tool",
        "tool": {"tool": "mail.send", "input": {}},
        "depends_on": deps or [],
        "serves": ["channel"],
    }


def plan(*steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Outage notices",
        "goal": "tell customers",
        "phases": [{"key": "main", "name": "Main", "steps": list(steps)}],
    }


async def draft_of(service: Service, tenant: UUID, session: UUID) -> dict[str, Any]:
    """The session's draft once it left `pending`."""
    auth = SIGNER.auth(tenant, ["plans:read"], subject=uuid4())
    found: dict[str, Any] = {}

    async def settled() -> bool:
        r = await service.client.get(
            "/v1/drafts", params={"session_id": str(session)}, headers=auth
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if items and items[0]["state"] != "pending":
            found.update(items[0])
            return True
        return False

    await eventually(settled, within=SETTLE)
    one = await service.client.get(f"/v1/drafts/{found['id']}", headers=auth)
    assert one.status_code == 200, one.text
    return found


async def version_one(service: Service, tenant: UUID, plan_id: str) -> dict[str, Any]:
    auth = SIGNER.auth(tenant, ["plans:read"], subject=uuid4())
    r = await service.client.get(f"/v1/plans/{plan_id}/versions/1", headers=auth)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def drafted_events(service: Service, tenant: UUID) -> list[dict[str, Any]]:
    rows = await service.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.plan.drafted'",
        t=tenant,
    )
    return [json.loads(bytes(r[0])) for r in rows]


async def answers_to(kafka: str, requests: set[UUID]) -> list[Envelope[Any]]:
    """The gateway's answers to `requests` on planning's reply topic, read from the
    beginning to the end offsets of the call."""
    topic = LLM_RESPONSES_PLANNING_V1
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=None, enable_auto_commit=False)
    await consumer.start()
    found: list[Envelope[Any]] = []
    try:
        parts = await partitions_of(kafka, topic)
        assert parts, f"{topic} has no partitions"
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        idle = 0
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            batch = await consumer.getmany(*parts, timeout_ms=500)
            idle = 0 if batch else idle + 1
            assert idle < 120, f"no record of {topic} read for 60 s before its end offsets"
            for records in batch.values():
                for record in records:
                    assert record.value is not None
                    envelope = decode(topic, record.value)
                    if envelope.payload.request_id in requests:
                        found.append(envelope)
    finally:
        await consumer.stop()
    return found
