"""Events whose envelope and payload disagree are refused, through the real broker: the
consumer dead-letters them at once with the reason, and the projection does not change.
An approved plan whose payload names plan X version 3 around a snapshot of plan Y
version 1 was accepted (its runs reported version 1). A catalog event without a tenant
went through every retry tier (the projection raised `ValueError` on each try) before it
was dead-lettered as `handler-failed`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic, retry_topic
from agentsuite_contracts.envelope import Envelope, Payload, Subject
from agentsuite_contracts.planning import PlanApproved, ScheduleFired
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    LLM_PROVIDERS_V1,
    PLANNING_PLANS_V1,
    PLANNING_SCHEDULES_V1,
)
from agentsuite_execution.uow import ExecutionUow
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import (
    agent_created,
    agent_spec,
    envelope,
    model_registered,
    plan_approved,
    send,
    tool_published,
    tool_spec,
)
from tests.integration.kafka_helpers import eventually

pytestmark = pytest.mark.integration

PLANS, TOOLS = PLANNING_PLANS_V1, CATALOG_TOOLS_V1


async def dead_letter(ex: Execution, group: str, event_id: UUID) -> DeadLetter:
    """The dead letter of event `event_id` on `group`'s dead-letter topic, once there."""
    found: list[DeadLetter] = []
    consumer = AIOKafkaConsumer(
        dead_letter_topic(group),
        bootstrap_servers=ex.kafka,
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


async def first_stop(ex: Execution, group: str, event_id: UUID) -> tuple[str, DeadLetter | None]:
    """Where event `event_id` went first once its handler refused it: the group's
    dead-letter topic (with its dead letter) or its first retry tier."""
    stops = [dead_letter_topic(group), retry_topic(group, 1)]
    found: list[tuple[str, DeadLetter | None]] = []
    consumer = AIOKafkaConsumer(
        *stops, bootstrap_servers=ex.kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    if json.loads(r.value)["id"] == str(event_id):
                        headers = {k: v.decode() for k, v in r.headers}
                        letter = DeadLetter.from_headers(headers) if r.topic == stops[0] else None
                        found.append((r.topic, letter))
            return bool(found)

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found[0]


async def read(ex: Execution, tenant: UUID, query: Any) -> Any:
    async with ex.deps.uow(tenant) as uow:
        return await query(uow)


async def test_an_approved_plan_whose_snapshot_is_another_plan_is_dead_lettered(
    execution: Execution,
) -> None:
    tenant = uuid4()
    other = plan_approved(version=1)  # plan Y, version 1
    forged = PlanApproved(plan_id=uuid4(), version=3, approved_by=uuid4(), plan=other.plan)
    sent = envelope(forged, tenant_id=tenant)
    await send(execution.kafka, PLANS, [sent])

    letter = await dead_letter(execution, "execution.plans", sent.id)
    assert letter.reason == "invalid"
    assert str(forged.plan_id) in letter.error
    assert str(other.plan_id) in letter.error
    assert await read(execution, tenant, lambda u: u.plans.approved(forged.plan_id, 3)) is None
    assert await read(execution, tenant, lambda u: u.plans.approved(other.plan_id, 1)) is None


async def test_an_approved_plan_whose_version_differs_from_its_snapshot_is_dead_lettered(
    execution: Execution,
) -> None:
    tenant = uuid4()
    payload = plan_approved(version=1)
    forged = payload.model_copy(update={"version": 3})
    sent = envelope(forged, tenant_id=tenant)
    await send(execution.kafka, PLANS, [sent])

    letter = await dead_letter(execution, "execution.plans", sent.id)
    assert letter.reason == "invalid"
    assert "version" in letter.error

    async def approved(uow: ExecutionUow) -> Any:
        return await uow.plans.approved(payload.plan_id, None)

    assert await read(execution, tenant, approved) is None


async def test_an_event_whose_subject_is_not_its_payload_is_dead_lettered(
    execution: Execution,
) -> None:
    tenant = uuid4()
    version, head = tool_published(tool_spec(f"t{uuid4().hex[:8]}"))
    sent = [envelope(version, tenant_id=tenant), envelope(head, tenant_id=tenant)]
    # the head's envelope says it is about another tool than its payload names
    forged = sent[1].model_copy(update={"subject": Subject(type="tool", id=str(uuid4()))})
    await send(execution.kafka, TOOLS, [sent[0], forged])

    letter = await dead_letter(execution, "execution.tools", forged.id)
    assert letter.reason == "invalid"
    assert "subject" in letter.error
    resolved = await read(execution, tenant, lambda u: u.tools.resolve(head.name, None))
    assert resolved is None


def _tool() -> Payload:
    return tool_published(tool_spec(f"t{uuid4().hex[:8]}"))[1]


def _tool_version() -> Payload:
    return tool_published(tool_spec(f"t{uuid4().hex[:8]}"))[0]


def _agent() -> Payload:
    return agent_created(agent_spec(f"a{uuid4().hex[:8]}"))


def _firing() -> Payload:
    return ScheduleFired(
        schedule_id=uuid4(), plan_id=uuid4(), plan_version=1, due_at=datetime.now(UTC)
    )


@pytest.mark.parametrize(
    ("topic", "group", "payload"),
    [
        (TOOLS, "execution.tools", _tool),
        (TOOLS, "execution.tools", _tool_version),
        (CATALOG_AGENTS_V1, "execution.agents", _agent),
        (PLANS, "execution.plans", plan_approved),
        (LLM_PROVIDERS_V1, "execution.models", lambda: model_registered(f"m{uuid4().hex[:8]}")),
        (PLANNING_SCHEDULES_V1, "execution.schedules", _firing),
    ],
    ids=["tool", "tool-version", "agent", "plan", "model", "schedule-firing"],
)
async def test_an_event_without_a_tenant_is_dead_lettered_at_once(
    execution: Execution, topic: str, group: str, payload: Any
) -> None:
    # every projection and every run is a tenant's: a tenant-less event can never apply,
    # so a retry tier would only delay its dead letter
    sent = envelope(payload(), tenant_id=None)
    await send(execution.kafka, topic, [sent])

    stop, letter = await first_stop(execution, group, sent.id)
    assert stop == dead_letter_topic(group), f"went to {stop} first, not dead-lettered"
    assert letter is not None
    assert letter.reason == "invalid"
    assert "tenant" in letter.error


def _unused(_: Envelope[Any]) -> None:
    pass
