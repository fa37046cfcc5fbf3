"""Overlap through the real broker: execution's `started` of a schedule's run (projected by
the feeds) makes later slots skip or queue; its `completed` fires the oldest queued slot."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.execution import ExecutionCompleted, ExecutionStarted, Trigger
from agentsuite_contracts.topic_names import EXECUTION_EXECUTIONS_V1
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.feeds_support import envelope
from tests.integration.planning.harness import Service, send
from tests.integration.planning.schedules_support import (
    auth,
    fired_in_outbox,
    make,
    plan,
    slot_rows,
)


async def _states(service: Service, sid: str) -> list[tuple[datetime, str]]:
    return await slot_rows(service, sid)


async def _run(service: Service, tenant: UUID, plan_id: str, sid: str, execution: UUID) -> None:
    started = ExecutionStarted(
        execution_id=execution,
        plan_id=UUID(plan_id),
        plan_version=1,
        trigger=Trigger.SCHEDULE,
        schedule_id=UUID(sid),
        step_count=1,
    )
    await send(
        service.kafka,
        EXECUTION_EXECUTIONS_V1,
        [envelope("execution", started, tenant, datetime.now(UTC))],
    )


async def _pause(service: Service, tenant: UUID, sid: str) -> None:
    current = await service.client.get(f"/v1/schedules/{sid}", headers=auth(tenant))
    r = await service.client.patch(
        f"/v1/schedules/{sid}",
        json={"enabled": False},
        headers=auth(tenant) | {"If-Match": current.headers["etag"]},
    )
    assert r.status_code == 200, r.text


async def test_a_skip_schedule_skips_slots_while_its_run_goes(service: Service) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant)
    made = await make(
        service, tenant, plan_id=plan_id, plan_version=1, interval_seconds=1, overlap="skip"
    )
    sid = made["id"]

    async def fired_one() -> bool:
        return any(s == "fired" for _, s in await _states(service, sid))

    await eventually(fired_one, within=60)
    await _run(service, tenant, plan_id, sid, uuid4())

    async def skipped_two() -> bool:
        return sum(s == "skipped" for _, s in await _states(service, sid)) >= 2

    await eventually(skipped_two, within=60)
    await _pause(service, tenant, sid)
    rows = await _states(service, sid)
    last_fired = max(d for d, s in rows if s == "fired")
    # once the run is known to be going, every later slot is skipped
    first_skip = min(d for d, s in rows if s == "skipped")
    assert all(s == "skipped" for d, s in rows if d > first_skip)
    assert last_fired < first_skip
    fired = sum(s == "fired" for _, s in rows)
    assert await fired_in_outbox(service, sid) == fired


async def test_a_queue_schedule_fires_its_oldest_queued_slot_when_the_run_ends(
    service: Service,
) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant)
    made = await make(
        service, tenant, plan_id=plan_id, plan_version=1, interval_seconds=1, overlap="queue"
    )
    sid = made["id"]

    async def fired_one() -> bool:
        return any(s == "fired" for _, s in await _states(service, sid))

    await eventually(fired_one, within=60)
    execution = uuid4()
    await _run(service, tenant, plan_id, sid, execution)

    async def queued_two() -> bool:
        return sum(s == "queued" for _, s in await _states(service, sid)) >= 2

    await eventually(queued_two, within=60)
    oldest = min(d for d, s in await _states(service, sid) if s == "queued")
    done = ExecutionCompleted(
        execution_id=execution,
        duration_ms=5,
        usage=Usage(
            prompt_tokens=1,
            completion_tokens=1,
            total_tokens=2,
            cost=Money(amount_micros=1, currency="USD"),
        ),
    )
    await send(
        service.kafka,
        EXECUTION_EXECUTIONS_V1,
        [envelope("execution", done, tenant, datetime.now(UTC))],
    )

    async def oldest_fired() -> bool:
        return (oldest, "fired") in await _states(service, sid)

    await eventually(oldest_fired, within=60)
    await _pause(service, tenant, sid)
    rows = await _states(service, sid)
    fired = [d for d, s in rows if s == "fired"]
    assert len(fired) == len(set(fired))
    assert await fired_in_outbox(service, sid) == len(fired)
    # a queued slot never overtakes an older one still waiting
    waiting = [d for d, s in rows if s == "queued"]
    assert all(w > oldest for w in waiting)
