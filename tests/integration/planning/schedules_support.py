"""Schedules under test: make one through the API, and count what it fired, in the slot
rows and on the real broker."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.topic_names import PLANNING_SCHEDULES_V1
from tests.integration.planning.harness import SIGNER, Service
from tests.integration.planning.harness import auth as plan_auth
from tests.integration.planning.plans_support import body

CAPS = ["plans:read", "schedules:write"]


def auth(tenant: UUID, caps: list[str] | None = None) -> dict[str, str]:
    return SIGNER.auth(tenant, CAPS if caps is None else caps)


async def plan(
    service: Service, tenant: UUID, *, approve: bool = True, label: str | None = None
) -> str:
    """A plan of the tenant with version 1, approved (and labelled) unless told not to."""
    made = await service.client.post("/v1/plans", json=body(), headers=plan_auth(tenant))
    assert made.status_code == 201, made.text
    plan_id: str = made.json()["id"]
    if approve:
        r = await service.client.post(
            f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=plan_auth(tenant)
        )
        assert r.status_code == 200, r.text
    if label is not None:
        r = await service.client.put(
            f"/v1/plans/{plan_id}/labels/{label}", json={"version": 1}, headers=plan_auth(tenant)
        )
        assert r.status_code == 200, r.text
    return plan_id


async def make(service: Service, tenant: UUID, **spec: Any) -> dict[str, Any]:
    r = await service.client.post("/v1/schedules", json=spec, headers=auth(tenant))
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made


async def slot_rows(service: Service, schedule_id: str) -> list[tuple[datetime, str]]:
    rows = await service.owner_sql(
        "SELECT due_at, state FROM schedule_slots WHERE schedule_id = :s ORDER BY due_at",
        s=UUID(schedule_id),
    )
    return [(r[0], r[1]) for r in rows]


async def fired_in_outbox(service: Service, schedule_id: str) -> int:
    rows = await service.owner_sql(
        "SELECT count(*) FROM outbox WHERE type = 'planning.schedule.fired' AND key = :k",
        k=schedule_id,
    )
    return int(rows[0][0])


async def unpublished(service: Service, schedule_id: str) -> int:
    rows = await service.owner_sql(
        "SELECT count(*) FROM outbox WHERE key = :k AND published_at IS NULL", k=schedule_id
    )
    return int(rows[0][0])


async def fired_on_broker(kafka: str, schedule_id: str, expect: int) -> Counter[str]:
    """`due_at` of every `schedule.fired` of the schedule on the topic, read from the start
    until `expect` of them have come (or 60 s passed: then the test sees fewer)."""
    consumer = AIOKafkaConsumer(
        PLANNING_SCHEDULES_V1, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    seen: Counter[str] = Counter()
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    body = json.loads(record.value)
                    payload = body.get("payload", {})
                    if (
                        body.get("type") == "planning.schedule.fired"
                        and payload.get("schedule_id") == schedule_id
                    ):
                        seen[payload["due_at"]] += 1
            if sum(seen.values()) >= expect and not batch:
                break
        return seen
    finally:
        await consumer.stop()
