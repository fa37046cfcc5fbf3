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
from agentsuite_contracts.steps import Budget, OnLimit
from tests.integration.execution.gateway_support import (
    Stack,
    llm_step,
    run_plan,
    settled,
    stack,
    tenant_with_models,
)
from tests.integration.llm_gateway.stub import Reply


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
