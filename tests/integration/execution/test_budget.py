"""Run budgets on the real engine and the real llm-gateway: 50 llm steps racing for a
budget that fits 10 (fail, pause, warn), the request capped to the tokens left, a step's
own cost cap, warnings, and the wall-clock budget. Each call costs exactly what it
reserves (the stub answers 5 words to a 5-token cap, input is free), so the race's
outcome does not depend on when answers settle: the 40 that find the budget held by
calls in flight wait for them to settle, then find it spent (`on_limit`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.common import Money
from agentsuite_contracts.steps import Budget, OnLimit
from agentsuite_execution.engine import runs
from tests.integration.execution.gateway_support import (
    PER_TOKEN,
    Stack,
    events,
    eventually,
    llm_step,
    run_of,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.llm_gateway.stub import Hang, Reply

CALL = 5 * PER_TOKEN  # one call: 5 completion tokens, input free
FIVE = Reply(text="one two three four five")


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("budget-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_queue(s: Stack) -> None:
    s.stub.queue.clear()


async def race(s: Stack, on_limit: OnLimit, n: int = 50) -> tuple[UUID, UUID, str]:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    s.stub.script(*[FIVE] * n)
    steps = [llm_step(f"s{i:02d}", f"{tag} item {i}") for i in range(n)]
    budget = Budget(max_cost=Money(amount_micros=10 * CALL), on_limit=on_limit)
    return tenant, await run_plan(s, tenant, steps, budget=budget), tag


async def test_race_of_50_for_a_budget_of_10_fails_the_run(s: Stack) -> None:
    tenant, run_id, tag = await race(s, OnLimit.FAIL)
    run = await settled(s, tenant, run_id, "failed", "completed")
    assert run.status == "failed"
    assert run.error is not None
    assert run.error["code"] == "budget_exceeded"
    steps = await steps_of(s, tenant, run_id)
    ok = [k for k, st in steps.items() if st.state == "succeeded"]
    assert len(ok) <= 10
    assert run.cost_used <= 10 * CALL
    assert run.cost_used == len(ok) * CALL
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)
    # ten were sent (the eleventh failed the run); answers after the failure are ignored
    async with s.execution.deps.uow(tenant) as uow:
        calls = await uow.llm_calls.of(run_id)
    assert len(calls) == 10
    assert s.calls(tag) <= 10
    [exceeded] = await events(s, tenant, run_id, "execution.budget.exceeded")
    assert exceeded["data"]["action"] == "failed"
    assert exceeded["data"]["limit"] == "cost"
    assert exceeded["data"]["allowed"] == 10 * CALL
    # what is spent, not what calls in flight held: the run stops when it is spent
    assert exceeded["data"]["used"] == 10 * CALL
    assert exceeded["data"]["held"] == 0


async def test_race_of_50_for_a_budget_of_10_pauses_and_holds_the_rest(s: Stack) -> None:
    tenant, run_id, tag = await race(s, OnLimit.PAUSE)

    async def still() -> bool:
        steps = await steps_of(s, tenant, run_id)
        states = [st.state for st in steps.values()]
        return states.count("succeeded") + states.count("held") == 50

    await eventually(still, within=60, what="every step answered or held")
    run = await settled(s, tenant, run_id, "paused")
    assert run.pause_reason == "budget"
    steps = await steps_of(s, tenant, run_id)
    ok = [st for st in steps.values() if st.state == "succeeded"]
    held = [st for st in steps.values() if st.state == "held"]
    assert (len(ok), len(held)) == (10, 40)
    assert run.cost_used == 10 * CALL
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)
    assert s.calls(tag) == 10
    # put back, not failed: nothing counted against the retry policy
    assert all(st.failures == 0 and st.error is None for st in held)
    [exceeded] = await events(s, tenant, run_id, "execution.budget.exceeded")
    assert exceeded["data"]["action"] == "paused"
    assert (exceeded["data"]["used"], exceeded["data"]["held"]) == (10 * CALL, 0)
    # the 80 % warning went out once, when 8 of 10 calls were used
    [warning] = await events(s, tenant, run_id, "execution.budget.warning")
    assert warning["data"]["used"] >= 8 * CALL

    # the budget raised (as a budget change would) and the run resumed: the held steps
    # run once each, as the attempt they were put back in
    s.stub.script(*[FIVE] * 40)
    async with s.execution.deps.uow(tenant) as uow:
        paused = await uow.executions.get(run_id, lock=True)
        assert paused is not None
        raised = Budget(max_cost=Money(amount_micros=50 * CALL), on_limit=OnLimit.PAUSE)
        await uow.executions.set(run_id, budget=raised.model_dump(mode="json"))
        await runs.resume(uow, paused)
        await uow.commit()
    done = await settled(s, tenant, run_id, "completed", "failed", "paused")
    assert done.status == "completed", done.error
    assert done.cost_used == 50 * CALL
    assert s.calls(tag) == 50
    resumed = await steps_of(s, tenant, run_id)
    assert {resumed[st.key].attempt for st in held} == {1}


async def test_race_with_warn_goes_on_past_the_budget(s: Stack) -> None:
    tenant, run_id, tag = await race(s, OnLimit.WARN, n=12)
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    assert run.cost_used == 12 * CALL
    assert s.calls(tag) == 12
    [exceeded] = await events(s, tenant, run_id, "execution.budget.exceeded")
    assert exceeded["data"]["action"] == "warned"
    assert len(await events(s, tenant, run_id, "execution.budget.warning")) == 1


async def test_request_max_tokens_is_lowered_to_the_tokens_left(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    # 35 characters: bounded (as the gateway bounds it) at a token a byte, + 15 for the
    # message's keys (role, user, content) and 8 for its framing: 58 tokens
    prompt = f"{tag} zz"
    budget = Budget(max_tokens=58 + 7, on_limit=OnLimit.FAIL)
    step = llm_step("capped", prompt, max_tokens=100)
    run_id = await run_plan(s, tenant, [step], budget=budget)
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    [body] = [b for b in s.stub.bodies if tag in str(b)]
    assert body["max_tokens"] == 7
    assert run.tokens_used <= 58 + 7


async def test_a_step_over_its_own_cost_cap_fails_without_calling(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    step = llm_step("dear", f"{tag} costly", max_cost=Money(amount_micros=CALL - 1))
    run_id = await run_plan(s, tenant, [step])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "failed"
    error = (await steps_of(s, tenant, run_id))["dear"].error
    assert error is not None
    assert error["code"] == "budget_exceeded"
    assert s.calls(tag) == 0
    # a step's own cap is not the run's budget: no execution.budget.exceeded
    assert await events(s, tenant, run_id, "execution.budget.exceeded") == []


async def test_wall_clock_budget_fails_the_run(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    s.stub.script(Hang(3.0))
    budget = Budget(max_duration_ms=500, on_limit=OnLimit.FAIL)
    run_id = await run_plan(s, tenant, [llm_step("slow", f"{uuid4().hex} slow")], budget=budget)
    run = await settled(s, tenant, run_id, "failed", "completed")
    assert run.error is not None
    assert run.error["code"] == "budget_exceeded"
    [exceeded] = await events(s, tenant, run_id, "execution.budget.exceeded")
    assert exceeded["data"]["limit"] == "duration_ms"
    assert exceeded["data"]["used"] >= 500
    # the abandoned call's hold was released, its late answer ignored
    await eventually(lambda: _answered_or_abandoned(s, tenant, run_id), what="call closed")
    assert (await run_of(s, tenant, run_id)).cost_reserved == 0


async def _answered_or_abandoned(s: Stack, tenant: UUID, run_id: UUID) -> bool:
    async with s.execution.deps.uow(tenant) as uow:
        calls = await uow.llm_calls.of(run_id)
    return all(c["state"] == "abandoned" for c in calls) and len(calls) == 1
