"""Rerun from a failed `llm` step on the real engine and the real llm-gateway: ten chained
steps, the seventh's model unknown to the gateway; once the model exists, a rerun from the
seventh runs 7-10 only: 1-6 keep their attempts and outputs and cost no upstream call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_execution.engine import runs
from tests.integration.execution.gateway_support import (
    Stack,
    add_model,
    llm_step,
    provider_id,
    run_of,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("rerun-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


async def test_rerun_from_the_failed_step_leaves_earlier_steps_alone(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    keys = [f"s{i:02d}" for i in range(1, 11)]
    steps = [
        llm_step(
            key,
            f"{tag} step {key}",
            depends_on=keys[i - 1 : i],
            model="later-model" if key == "s07" else "stub-model",
        )
        for i, key in enumerate(keys)
    ]
    run_id = await run_plan(s, tenant, steps)
    failed = await settled(s, tenant, run_id, "failed", "completed")
    assert failed.status == "failed"
    assert failed.failed_step == "s07"
    before = await steps_of(s, tenant, run_id)
    assert [before[k].state for k in keys[:6]] == ["succeeded"] * 6
    assert before["s07"].state == "failed"
    assert all(before[k].state in ("cancelled", "blocked") for k in keys[7:])
    used = failed.tokens_used
    calls = {k: s.calls(f"{tag} step {k}") for k in keys}
    assert calls == {k: 1 if k < "s07" else 0 for k in keys}

    # the fix: the gateway gets the model; then the rerun
    await add_model(s, tenant, await provider_id(s, tenant), "later-model")
    async with s.execution.deps.uow(tenant) as uow:
        run = await uow.executions.get(run_id, lock=True)
        assert run is not None
        await runs.rerun(uow, run, from_step="s07")
        await uow.commit()
    done = await settled(s, tenant, run_id, "completed", "failed")
    assert done.status == "completed", done.error
    after = await steps_of(s, tenant, run_id)
    for k in keys[:6]:
        assert (after[k].attempt, after[k].generation) == (before[k].attempt, before[k].generation)
        assert after[k].output == before[k].output
        assert s.calls(f"{tag} step {k}") == 1
    assert [after[k].state for k in keys] == ["succeeded"] * 10
    assert after["s07"].attempt == before["s07"].attempt + 1
    assert {k: s.calls(f"{tag} step {k}") for k in keys[6:]} == {k: 1 for k in keys[6:]}
    assert done.tokens_used > used
    assert (await run_of(s, tenant, run_id)).manifest["models"]["s07"]["model"] == "later-model"
