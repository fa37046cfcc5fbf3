"""planning's schedule firings through the real broker: one run per slot however often it
fires, a firing of an archived plan dropped, one of a plan not approved here retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.deadletter import retry_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.planning import PlanArchived, ScheduleFired
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, plan_approved, publish, send
from tests.integration.kafka_helpers import eventually, read_all

PLANS, SCHEDULES = PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1


async def applied(execution: Execution, event: Envelope[Any]) -> bool:
    """Whether execution applied `event` (the inbox: another execution app of the
    session, the engine's, may own the partition, so this app's counts cannot tell)."""
    rows = await execution.owner_sql(
        "SELECT 1 FROM inbox WHERE consumer = 'execution.schedules' AND event_id = :id",
        id=event.id,
    )
    return bool(rows)


async def retried(execution: Execution, event: Envelope[Any]) -> bool:
    """Whether `event` was sent to the schedules group's first retry tier."""
    records = await read_all(execution.kafka, retry_topic("execution.schedules", 1), 10_000, 2)
    return any(str(event.id).encode() in r.value for r in records)


async def approved_plan(execution: Execution, tenant: UUID) -> ScheduleFired:
    """An approved plan, projected, and a firing of it."""
    plan = plan_approved()
    await publish(execution.kafka, PLANS, plan, tenant_id=tenant)

    async def seen() -> bool:
        rows = await execution.owner_sql(
            "SELECT 1 FROM plan_versions WHERE plan_id = :id", id=plan.plan_id
        )
        return bool(rows)

    await eventually(seen, within=30)
    return ScheduleFired(
        schedule_id=uuid4(),
        plan_id=plan.plan_id,
        plan_version=1,
        due_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


async def test_a_slot_fired_three_times_starts_one_run(execution: Execution) -> None:
    tenant = uuid4()
    fired = await approved_plan(execution, tenant)
    # redelivered as is, and re-sent by planning in new envelopes
    first = envelope(fired, tenant_id=tenant)
    await send(execution.kafka, SCHEDULES, [first, first, envelope(fired, tenant_id=tenant)])

    async def started() -> bool:
        rows = await execution.owner_sql(
            "SELECT 1 FROM executions WHERE schedule_id = :s", s=fired.schedule_id
        )
        return bool(rows)

    await eventually(started, within=30)
    # a firing of another slot after them, on the same key: all three are handled by then
    later = fired.model_copy(update={"due_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC)})
    await publish(execution.kafka, SCHEDULES, later, tenant_id=tenant)

    async def both_slots() -> bool:
        rows = await execution.owner_sql(
            "SELECT count(*) FROM executions WHERE schedule_id = :s", s=fired.schedule_id
        )
        return bool(rows[0][0] >= 2)

    await eventually(both_slots, within=30)
    rows = await execution.owner_sql(
        "SELECT due_at, trigger, tenant_id, plan_version FROM executions "
        "WHERE schedule_id = :s ORDER BY due_at",
        s=fired.schedule_id,
    )
    assert [tuple(r) for r in rows] == [
        (fired.due_at, "schedule", tenant, 1),
        (later.due_at, "schedule", tenant, 1),
    ]


async def test_a_firing_of_an_archived_plan_is_dropped_not_retried(execution: Execution) -> None:
    tenant = uuid4()
    fired = await approved_plan(execution, tenant)
    await publish(execution.kafka, PLANS, PlanArchived(plan_id=fired.plan_id), tenant_id=tenant)

    async def archived() -> bool:
        rows = await execution.owner_sql(
            "SELECT archived FROM plans WHERE plan_id = :id", id=fired.plan_id
        )
        return bool(rows and rows[0][0])

    await eventually(archived, within=30)
    sent = await publish(execution.kafka, SCHEDULES, fired, tenant_id=tenant)
    await eventually(lambda: applied(execution, sent), within=30)
    assert not await retried(execution, sent)
    rows = await execution.owner_sql(
        "SELECT 1 FROM executions WHERE schedule_id = :s", s=fired.schedule_id
    )
    assert rows == []


async def test_a_firing_of_a_plan_not_approved_here_goes_to_a_retry_tier(
    execution: Execution,
) -> None:
    tenant = uuid4()
    fired = ScheduleFired(
        schedule_id=uuid4(),
        plan_id=uuid4(),
        plan_version=1,
        due_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    sent = await publish(execution.kafka, SCHEDULES, fired, tenant_id=tenant)
    await eventually(lambda: retried(execution, sent), within=30)
    assert not await applied(execution, sent)
