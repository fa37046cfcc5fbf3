"""`planning.plan.stale` through the real broker and PostgreSQL: a stale plan starts no
new run (`409 plan_stale`, of any of its versions) until a later approval of the plan;
event time orders them whatever order they arrive in, and a stale event redelivered (as
is, or re-sent in a new envelope) changes nothing more. A schedule slot of a stale plan
is dropped with a warning, not retried."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from alembic import command
from sqlalchemy import text

from agentsuite_cli.provision import deprovision
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.planning import PlanStale, PlanStaleCause, ScheduleFired
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1
from agentsuite_execution.app import spec
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import check, config, upgrade
from tests.integration.execution.harness import Execution, auth, create_execution_db
from tests.integration.execution.publish import envelope, plan_approved, publish, send
from tests.integration.execution.test_projections_schedules import retried
from tests.integration.kafka_helpers import eventually

pytestmark = pytest.mark.integration

PLANS, SCHEDULES = PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def stale(plan_id: UUID, version: int = 1) -> PlanStale:
    cause = PlanStaleCause(
        requirement="budget", session_id=uuid4(), extraction_id=uuid4(), relation="contradicts"
    )
    return PlanStale(plan_id=plan_id, version=version, causes=[cause])


def at(tenant: UUID, payload: Payload, seconds: int) -> Envelope[Any]:
    return envelope(payload, tenant_id=tenant, occurred_at=T0 + timedelta(seconds=seconds))


async def applied(ex: Execution, group: str, events: list[Envelope[Any]]) -> bool:
    """Whether consumer `group` applied every envelope of `events` (the inbox: the
    session's other execution app may own some partitions)."""
    ids = list({e.id for e in events})
    rows = await ex.owner_sql(
        "SELECT count(*) FROM inbox WHERE consumer = :group AND event_id = ANY(:ids)",
        group=group,
        ids=ids,
    )
    return bool(rows[0][0] == len(ids))


async def deliver(ex: Execution, events: list[Envelope[Any]]) -> None:
    """Send `events` in this order on the plans topic; return once all are applied."""
    await send(ex.kafka, PLANS, events)
    await eventually(lambda: applied(ex, "execution.plans", events), within=30)


async def start(ex: Execution, tenant: UUID, plan_id: UUID, version: int | None) -> Any:
    body: dict[str, Any] = {"plan_id": str(plan_id)}
    if version is not None:
        body["plan_version"] = version
    reply = await ex.client.post("/v1/executions", json=body, headers=auth(tenant))
    return reply.status_code, reply.json()


@pytest.mark.parametrize("order", list(itertools.permutations(range(2))))
async def test_a_stale_plan_starts_no_run_whatever_order_its_events_arrive_in(
    execution: Execution, order: tuple[int, ...]
) -> None:
    tenant = uuid4()
    approved = plan_approved()
    timeline = [at(tenant, approved, 0), at(tenant, stale(approved.plan_id), 1)]
    await deliver(execution, [timeline[i] for i in order])
    for version in (1, None):
        status, body = await start(execution, tenant, approved.plan_id, version)
        assert (status, body.get("code")) == (409, "plan_stale"), body
        assert "stale" in body["detail"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_a_later_approval_clears_the_stale_mark_whatever_the_order(
    execution: Execution, order: tuple[int, ...]
) -> None:
    tenant = uuid4()
    first = plan_approved()
    second = plan_approved(plan_id=first.plan_id, version=2)
    timeline = [
        at(tenant, first, 0),
        at(tenant, stale(first.plan_id), 1),
        at(tenant, second, 2),
    ]
    await deliver(execution, [timeline[i] for i in order])
    # any version of the plan runs again: the approval is the plan's, not the version's
    for version in (1, 2, None):
        status, body = await start(execution, tenant, first.plan_id, version)
        assert status == 201, body


async def test_a_redelivered_stale_event_changes_nothing_more(execution: Execution) -> None:
    tenant = uuid4()
    first = plan_approved()
    marked = at(tenant, stale(first.plan_id), 1)
    copy = marked.model_copy(update={"id": uuid4()})  # re-sent by planning
    await deliver(execution, [at(tenant, first, 0), marked, marked, copy])
    status, body = await start(execution, tenant, first.plan_id, 1)
    assert (status, body.get("code")) == (409, "plan_stale"), body

    await deliver(execution, [at(tenant, plan_approved(plan_id=first.plan_id, version=2), 2)])
    assert (await start(execution, tenant, first.plan_id, 2))[0] == 201
    # the stale event again after the approval, as is and in a new envelope: still runs
    again = marked.model_copy(update={"id": uuid4()})
    await send(execution.kafka, PLANS, [marked])
    await deliver(execution, [again])
    status, body = await start(execution, tenant, first.plan_id, None)
    assert status == 201, body


async def test_a_schedule_slot_of_a_stale_plan_is_dropped_not_retried(
    execution: Execution,
) -> None:
    tenant = uuid4()
    approved = plan_approved()
    await deliver(execution, [at(tenant, approved, 0), at(tenant, stale(approved.plan_id), 1)])
    fired = ScheduleFired(
        schedule_id=uuid4(),
        plan_id=approved.plan_id,
        plan_version=1,
        due_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    sent = await publish(execution.kafka, SCHEDULES, fired, tenant_id=tenant)
    await eventually(lambda: applied(execution, "execution.schedules", [sent]), within=30)
    assert not await retried(execution, sent)
    rows = await execution.owner_sql(
        "SELECT 1 FROM executions WHERE schedule_id = :s", s=fired.schedule_id
    )
    assert rows == []


async def test_the_revision_fills_each_plans_newest_approval_and_goes_down_and_up(
    pg_admin_url: str, tmp_path: Path
) -> None:
    """A plan approved before revision 0011 has its newest approval's time, so a stale
    event older than that approval, applied later, still changes nothing."""
    db = await create_execution_db(pg_admin_url, tmp_path / "pw.json")
    owner_url = db.url(pg_admin_url, owner=True)
    tenant, plan_id = uuid4(), uuid4()
    try:
        await asyncio.to_thread(command.downgrade, config(spec.migrations, owner_url), "0010")
        engine = make_engine(owner_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                await conn.execute(
                    text(
                        "INSERT INTO plans (tenant_id, plan_id, latest_approved) VALUES (:t, :p, 2)"
                    ),
                    {"t": tenant, "p": plan_id},
                )
                for version, seconds in ((1, 0), (2, 5)):
                    await conn.execute(
                        text(
                            "INSERT INTO plan_versions (tenant_id, plan_id, version, name, "
                            "snapshot, approved_at) VALUES (:t, :p, :v, 'p', '{}', :at)"
                        ),
                        {
                            "t": tenant,
                            "p": plan_id,
                            "v": version,
                            "at": T0 + timedelta(seconds=seconds),
                        },
                    )
            await asyncio.to_thread(upgrade, spec.migrations, owner_url)
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                found = (
                    await conn.execute(
                        text("SELECT approved_at, stale_at FROM plans WHERE plan_id = :p"),
                        {"p": plan_id},
                    )
                ).one()
        finally:
            await engine.dispose()
        assert tuple(found) == (T0 + timedelta(seconds=5), None)
        await asyncio.to_thread(check, spec.migrations, owner_url)
    finally:
        await deprovision(pg_admin_url, [db])
