"""Running plans on a real engine: a second execution app with workers on the session's
database, plans approved through the projection's own handler, runs started through the
start handler, and waits for a run to reach a status.

The `engine` fixture is imported into this package's conftest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import PlanApproved, PlanSnapshot
from agentsuite_contracts.steps import Budget, PlanStep
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.handlers import projections
from agentsuite_execution.handlers.runs import StartRun, start
from tests.integration.execution.harness import Execution, make_settings, running
from tests.integration.execution.publish import plan_approved


@pytest.fixture(scope="session")
async def engine(
    execution_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Execution]:
    """execution with its engine running (4 workers, fast polls, short leases)."""
    settings = make_settings(
        execution_db.url(pg_admin_url),
        kafka_bootstrap,
        workers=4,
        lease=3.0,
        heartbeat=0.5,
        poll_interval=0.05,
    )
    async with running(settings, execution_db, pg_admin_url) as started:
        yield started


async def approve(
    ex: Execution,
    tenant: UUID,
    steps: Sequence[PlanStep],
    *,
    inputs_schema: dict[str, Any] | None = None,
    budget: Budget | None = None,
    plan_id: UUID | None = None,
    version: int = 1,
) -> PlanSnapshot:
    """The plan approved in execution's projection, as its consumer would record it."""
    payload: PlanApproved = plan_approved(
        steps=steps,
        inputs_schema=inputs_schema,
        budget=budget,
        plan_id=plan_id,
        version=version,
    )
    event = Envelope[PlanApproved](
        producer="planning",
        tenant_id=tenant,
        subject=Subject(type="plan", id=str(payload.plan_id)),
        correlation_id=uuid7(),
        payload=payload,
    )
    async with ex.deps.uow(tenant) as uow:
        await projections.plan_approved(event, uow)
        await uow.commit()
    return payload.plan


async def run_plan(
    ex: Execution,
    tenant: UUID,
    plan: PlanSnapshot,
    *,
    inputs: dict[str, Any] | None = None,
    budget: Budget | None = None,
) -> UUID:
    async with ex.deps.uow(tenant) as uow:
        run = await start(
            StartRun(
                plan_id=plan.plan_id, plan_version=plan.version, inputs=inputs or {}, budget=budget
            ),
            uow,
            ex.deps,
        )
        await uow.commit()
    return run.execution_id


async def get_run(ex: Execution, tenant: UUID, execution_id: UUID) -> Run:
    async with ex.deps.uow(tenant) as uow:
        run = await uow.executions.get(execution_id)
    assert run is not None
    return run


async def steps_of(ex: Execution, tenant: UUID, execution_id: UUID) -> dict[str, Step]:
    async with ex.deps.uow(tenant) as uow:
        return {s.key: s for s in await uow.steps.of(execution_id)}


async def wait_for(
    ex: Execution,
    tenant: UUID,
    execution_id: UUID,
    statuses: Sequence[str] = ("completed", "failed", "cancelled"),
    *,
    within: float = 30.0,
) -> Run:
    """Poll until the run is in one of `statuses`; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        run = await get_run(ex, tenant, execution_id)
        if run.status in statuses:
            return run
        if time.monotonic() > deadline:
            steps = await steps_of(ex, tenant, execution_id)
            states = {k: (s.state, s.error) for k, s in steps.items()}
            raise AssertionError(f"run is {run.status}, not {statuses}; steps: {states}")
        await asyncio.sleep(0.05)


async def wait_step(
    ex: Execution, tenant: UUID, execution_id: UUID, key: str, state: str, *, within: float = 30.0
) -> Step:
    deadline = time.monotonic() + within
    while True:
        step = (await steps_of(ex, tenant, execution_id)).get(key)
        if step is not None and step.state == state:
            return step
        if time.monotonic() > deadline:
            raise AssertionError(f"step {key} is {step and step.state}, not {state}")
        await asyncio.sleep(0.05)
