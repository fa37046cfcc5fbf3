"""A step's retry policy on the real engine: `retry_on` retries only the error codes it
lists (a failing code it does not list fails the step at its first attempt), and a
jittered back-off still retries up to `max_attempts`."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_contracts.steps import RetryPolicy
from tests.integration.execution.engine_support import approve, run_plan, steps_of, wait_for
from tests.integration.execution.harness import Execution
from tests.integration.execution.test_engine import tool

pytestmark = pytest.mark.integration

FAIL = {"code": "boom", "message": "no", "retryable": True}


@pytest.mark.parametrize(
    ("retry_on", "attempts"),
    [([], 3), (["boom"], 3), (["timeout", "http_503"], 1)],
)
async def test_retry_on_decides_which_failures_are_tried_again(
    engine: Execution, retry_on: list[str], attempts: int
) -> None:
    tenant = uuid4()
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=10, backoff=1.0, retry_on=retry_on)
    plan = await approve(engine, tenant, [tool("flaky", "fail", input=FAIL, retry=policy)])
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert (run.status, run.failed_step) == ("failed", "flaky")
    found = await steps_of(engine, tenant, run_id)
    assert (found["flaky"].attempt, found["flaky"].failures) == (attempts, attempts)


async def test_a_jittered_back_off_retries_up_to_its_attempts(engine: Execution) -> None:
    tenant = uuid4()
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=20, backoff=2.0, jitter=1.0)
    plan = await approve(engine, tenant, [tool("flaky", "fail", input=FAIL, retry=policy)])
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "failed"
    found = await steps_of(engine, tenant, run_id)
    assert found["flaky"].attempt == 3
