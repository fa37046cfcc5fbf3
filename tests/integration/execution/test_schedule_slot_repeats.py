"""planning's `schedule.fired` repeated 1 to 5 times per slot (redeliveries of one envelope
and re-sends in new envelopes, interleaved across slots) through the real broker to
execution's consumer: one run per slot."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.planning import ScheduleFired
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, plan_approved, publish, send
from tests.integration.kafka_helpers import eventually


async def test_each_slot_fired_one_to_five_times_starts_one_run(execution: Execution) -> None:
    tenant = uuid4()
    plan = plan_approved()
    await publish(execution.kafka, PLANNING_PLANS_V1, plan, tenant_id=tenant)

    async def projected() -> bool:
        rows = await execution.owner_sql(
            "SELECT 1 FROM plan_versions WHERE plan_id = :id", id=plan.plan_id
        )
        return bool(rows)

    await eventually(projected, within=60)
    schedule_id = uuid4()
    first = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    slots = [first + timedelta(hours=i) for i in range(5)]
    sent: list[Envelope[Any]] = []
    for repeats, due_at in enumerate(slots, start=1):
        fired = ScheduleFired(
            schedule_id=schedule_id, plan_id=plan.plan_id, plan_version=1, due_at=due_at
        )
        once = envelope(fired, tenant_id=tenant)
        # half redeliveries of one envelope, half new envelopes of the same slot
        sent += [once if i % 2 else envelope(fired, tenant_id=tenant) for i in range(repeats)]
    random.Random(18).shuffle(sent)  # noqa: S311  a fixed test order, not a secret
    await send(execution.kafka, PLANNING_SCHEDULES_V1, sent)
    # a last slot on the same key (one partition, in order): all before it are handled by then
    last = first + timedelta(days=1)
    await publish(
        execution.kafka,
        PLANNING_SCHEDULES_V1,
        ScheduleFired(schedule_id=schedule_id, plan_id=plan.plan_id, plan_version=1, due_at=last),
        tenant_id=tenant,
    )

    async def last_started() -> bool:
        rows = await execution.owner_sql(
            "SELECT 1 FROM executions WHERE schedule_id = :s AND due_at = :d",
            s=schedule_id,
            d=last,
        )
        return bool(rows)

    await eventually(last_started, within=60)
    rows = await execution.owner_sql(
        "SELECT due_at FROM executions WHERE schedule_id = :s ORDER BY due_at", s=schedule_id
    )
    assert [r[0] for r in rows] == [*slots, last]
