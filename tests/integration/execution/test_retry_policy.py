"""A step's retry policy on the real engine: `retry_on` retries only the error codes it
lists (a failing code it does not list fails the step at its first attempt), a jittered
back-off still retries up to `max_attempts`, and a tool's Retry-After is the least the
next attempt waits."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from agentsuite_contracts.steps import RetryPolicy
from tests.integration.execution.engine_support import approve, run_plan, steps_of, wait_for
from tests.integration.execution.harness import Execution
from tests.integration.execution.test_engine import tool
from tests.integration.kafka_helpers import eventually

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


async def test_a_tools_retry_after_is_the_least_the_next_attempt_waits(
    engine: Execution,
) -> None:
    """The HTTP tool reads a 429/503's Retry-After into `details.retry_after` and says
    "the engine may wait longer, never less": the engine took its own 10 ms back-off."""
    tenant = uuid4()
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=10, max_delay_ms=50)
    busy = {**FAIL, "details": {"status": 503, "retry_after": 30}}
    plan = await approve(engine, tenant, [tool("busy", "fail", input=busy, retry=policy)])
    run_id = await run_plan(engine, tenant, plan)

    async def retrying() -> bool:
        rows = await engine.owner_sql(
            "SELECT state FROM steps WHERE execution_id = :e AND key = 'busy'", e=run_id
        )
        return bool(rows and rows[0][0] == "retrying")

    await eventually(retrying, within=30)
    # when the next attempt is due, against when the failed one ended (the scheduled
    # time, not a duration measured by the test)
    [(due, failed_at)] = await engine.owner_sql(
        "SELECT s.run_after, a.finished_at FROM steps s JOIN attempts a "
        "ON a.execution_id = s.execution_id AND a.key = s.key AND a.attempt = 1 "
        "WHERE s.execution_id = :e AND s.key = 'busy'",
        e=run_id,
    )
    assert due - failed_at >= timedelta(seconds=30)
