"""Hostile review (issue 14 #6, budgets stop far below what they allow), in execution:
a call is refused, and `on_limit` applied, when the run's spent plus what other calls in
flight hold leaves too little for its reservation, though those holds are upper bounds
that settle to far less a moment later. On `agentsuite up` a run of six parallel `llm`
steps of `local-echo` (8 tokens each, 48 in all) with `max_tokens: 90` paused with
`execution.budget.exceeded {"used": 84, "allowed": 90}` while it had spent nothing: the
84 were two reservations of 42. With `on_limit: fail` the same run fails. A call that
only waits on others' holds should wait for them to settle; the limit is reached when
what is spent leaves too little."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.steps import Budget, OnError, OnLimit
from tests.integration.execution.gateway_support import (
    Stack,
    events,
    llm_step,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.llm_gateway.stub import Hang, Reply


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("budget-held-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


async def test_parallel_calls_that_fit_the_budget_are_not_refused_for_others_holds(
    s: Stack,
) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex[:8]
    s.stub.script(*[Reply(text="ok")] * 4)
    # parallel: made ready together, each reserved before any answer settles; every call
    # really uses a few tokens (a word a token, one out) but reserves its prompt's bytes
    # and its 5-token cap, so two reservations fit 100 tokens and not four
    steps = [llm_step(f"p{i}", f"{tag} p{i} hi") for i in range(4)]
    run_id = await run_plan(s, tenant, steps, budget=Budget(max_tokens=100, on_limit=OnLimit.FAIL))
    run = await settled(s, tenant, run_id, "failed", "completed", "paused")
    assert run.tokens_used <= 100
    assert run.status == "completed", (run.status, run.error, run.tokens_used)
    # the exceeded event, had there been one, would count spent, not held
    assert await events(s, tenant, run_id, "execution.budget.exceeded") == []


async def test_a_call_waiting_on_a_hold_that_never_settles_goes_on_when_it_times_out(
    s: Stack,
) -> None:
    """What bounds a wait: a call whose answer never comes is abandoned by its timeout,
    which releases its hold and wakes the step waiting for it."""
    tenant = await tenant_with_models(s)
    tag = uuid4().hex[:8]
    # whichever is sent first hangs past its timeout; the other waits for its hold
    s.stub.script(Hang(30.0), Reply(text="ok"))
    steps = [
        llm_step(f"h{i}", f"{tag} h{i} hi", timeout_ms=2000, on_error=OnError.CONTINUE)
        for i in range(2)
    ]
    # one reservation (42) fits 60, two do not; what is spent (nothing) leaves room for both
    run_id = await run_plan(s, tenant, steps, budget=Budget(max_tokens=60, on_limit=OnLimit.FAIL))
    run = await settled(s, tenant, run_id, "failed", "completed", "paused")
    assert run.status == "completed", (run.status, run.error, run.tokens_used)
    states = await steps_of(s, tenant, run_id)
    errors = sorted((st.state, (st.error or {}).get("code")) for st in states.values())
    assert errors == [("failed", "timeout"), ("succeeded", None)]
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)
