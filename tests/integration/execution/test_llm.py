"""`llm` steps on the real engine, the real llm-gateway (stub upstream) and the real broker:
usage settles on the step, the run and the manifest; references render into prompts; a
structured answer is parsed; an unknown model fails the step with the gateway's code (not
retried); a call past its timeout is abandoned and retried, its late answer ignored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.steps import RetryPolicy
from tests.integration.execution.gateway_support import (
    MODEL,
    PER_TOKEN,
    Stack,
    eventually,
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
    secrets = tmp_path_factory.mktemp("llm-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


async def test_llm_step_settles_usage_on_step_run_and_manifest(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    run_id = await run_plan(s, tenant, [llm_step("ask", f"hello {tag} there")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    step = (await steps_of(s, tenant, run_id))["ask"]
    # the stub counts words: 3 prompt words, the echo's 3 completion words
    assert step.output["content"] == f"hello {tag} there"
    assert step.output["model"] == MODEL
    assert (step.tokens, step.cost) == (6, 3 * PER_TOKEN)
    assert (run.prompt_tokens, run.completion_tokens) == (3, 3)
    assert (run.tokens_used, run.cost_used) == (6, 3 * PER_TOKEN)
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)
    assert run.manifest["models"] == {"ask": {"model": MODEL, "provider": "stub"}}
    assert run.outputs == {"ask": step.output}
    assert s.calls(tag) == 1
    async with s.execution.deps.uow(tenant) as uow:
        [call] = await uow.llm_calls.of(run_id)
    assert (call["state"], call["tokens"], call["cost"], call["attempt"]) == (
        "answered",
        6,
        3 * PER_TOKEN,
        1,
    )
    # what the gateway was asked: the step's cap and the run's attribution
    [body] = [b for b in s.stub.bodies if tag in str(b)]
    assert body["max_tokens"] == 5


async def test_prompt_renders_an_earlier_steps_output(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    steps = [
        llm_step("first", f"alpha {tag}"),
        llm_step("second", "${steps.first.output.content} beta", depends_on=["first"]),
    ]
    run_id = await run_plan(s, tenant, steps)
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    second = (await steps_of(s, tenant, run_id))["second"]
    assert second.output["content"] == f"alpha {tag} beta"
    assert run.tokens_used == (2 + 2) + (3 + 3)


async def test_output_schema_answer_is_parsed(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    step = llm_step("structured", f"json please {tag}")
    step = step.model_copy(
        update={"llm": step.llm.model_copy(update={"output_schema": {"type": "object"}})}  # type: ignore[union-attr]
    )
    s.stub.script(Reply(text='{"answer": 42}'))
    run_id = await run_plan(s, tenant, [step])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    out = (await steps_of(s, tenant, run_id))["structured"].output
    assert out["json"] == {"answer": 42}
    [body] = [b for b in s.stub.bodies if tag in str(b)]
    assert body["response_format"]["type"] == "json_schema"


async def test_unknown_model_fails_the_step_with_the_gateways_code(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    run_id = await run_plan(s, tenant, [llm_step("lost", "anyone?", model="no-such-model")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "failed"
    assert run.failed_step == "lost"
    step = (await steps_of(s, tenant, run_id))["lost"]
    assert step.state == "failed"
    assert step.error is not None
    # the gateway refuses a model it does not know as the request's own fault
    assert (step.error["code"], step.error["retryable"]) == ("invalid_request", False)
    assert "no-such-model" in step.error["message"]
    assert (run.tokens_reserved, run.cost_reserved) == (0, 0)


async def test_call_past_its_timeout_is_abandoned_and_retried(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    s.stub.script(Hang(12.0))
    step = llm_step(
        "patient",
        f"{tag} wait",
        timeout_ms=6000,
        retry=RetryPolicy(max_attempts=2, initial_delay_ms=0),
    )
    run_id = await run_plan(s, tenant, [step])
    # generous: a consumer group rebalancing (apps of other modules starting) stalls answers
    run = await settled(s, tenant, run_id, "completed", "failed", within=90)
    assert run.status == "completed", run.error
    done = (await steps_of(s, tenant, run_id))["patient"]
    assert (done.attempt, done.failures) == (2, 1)
    async with s.execution.deps.uow(tenant) as uow:
        calls = await uow.llm_calls.of(run_id)
    assert [(c["attempt"], c["state"]) for c in calls] == [(1, "abandoned"), (2, "answered")]
    # the hung call answers late: ignored, so only the retry is counted
    await eventually(
        lambda: _both_answered(s, tenant), within=60, what="the gateway answering both"
    )
    await asyncio.sleep(1.5)  # time for the late answer to reach execution's consumer
    after = (await steps_of(s, tenant, run_id))["patient"]
    assert (after.tokens, after.cost) == (done.tokens, done.cost) == (4, 2 * PER_TOKEN)
    final = await settled(s, tenant, run_id, "completed")
    assert (final.tokens_used, final.tokens_reserved, final.cost_reserved) == (4, 0, 0)


async def _both_answered(s: Stack, tenant: UUID) -> bool:
    rows = await s.gateway.owner_sql(
        "SELECT count(*) FROM requests WHERE tenant_id = :t AND status = 'done'", t=tenant
    )
    return int(rows[0][0]) == 2
