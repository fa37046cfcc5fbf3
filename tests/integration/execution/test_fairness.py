"""Fair claiming across tenants: a tenant with thousands of ready steps does not make
another tenant's small run wait for them."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import pytest

from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from tests.integration.execution.engine_support import approve, get_run, run_plan, wait_for
from tests.integration.execution.harness import Execution

pytestmark = pytest.mark.integration

BIG = 2_000


def step(key: str, deps: list[str], tool: str = "builtin.echo") -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=deps,
        tool=ToolStep(tool=tool, input={"k": key}),
    )


async def test_a_small_run_is_not_stuck_behind_a_huge_one(engine: Execution) -> None:
    big_tenant, small_tenant = uuid4(), uuid4()
    big = await approve(engine, big_tenant, [step(f"b{i}", []) for i in range(BIG)])
    small = await approve(
        engine, small_tenant, [step(f"s{i}", [f"s{i - 1}"] if i else []) for i in range(5)]
    )
    big_run = await run_plan(engine, big_tenant, big)
    await asyncio.sleep(0.3)  # the huge run is well under way, thousands of steps ready
    began = time.monotonic()
    small_run = await run_plan(engine, small_tenant, small)
    done = await wait_for(engine, small_tenant, small_run, within=60)
    waited = time.monotonic() - began
    assert done.status == "completed"
    still = await get_run(engine, big_tenant, big_run)
    print(f"small run done in {waited:.2f} s; huge run then had {still.open_steps} open steps")
    # the small run finished while the huge one still had most of its steps to go
    assert still.open_steps > BIG // 4, still.open_steps
    finished = await wait_for(engine, big_tenant, big_run, within=300)
    assert finished.status == "completed"
