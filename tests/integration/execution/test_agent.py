"""`agent` steps on the real engine, the real llm-gateway (stub upstream scripted to call a
tool, then answer) and the real broker: the tool loop finishes with every turn in the
checkpoint; catalog tools are offered and recorded; turn limits fail the step; a rerun
replays its turns from the gateway's cache (same messages, same run) at no upstream call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.catalog import AgentLimits
from agentsuite_contracts.steps import AgentStep, PlanStep, StepKind
from agentsuite_contracts.topic_names import CATALOG_AGENTS_V1, CATALOG_TOOLS_V1
from agentsuite_execution.engine import runs
from tests.integration.execution.gateway_support import (
    MODEL,
    Stack,
    add_model,
    eventually,
    llm_step,
    provider_id,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.execution.publish import (
    agent_created,
    agent_spec,
    publish,
    tool_published,
    tool_spec,
)
from tests.integration.llm_gateway.stub import Reply

AGENTS = CATALOG_AGENTS_V1
TOOLS = CATALOG_TOOLS_V1


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("agent-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_queue(s: Stack) -> None:
    s.stub.queue.clear()


async def agent(s: Stack, tenant: UUID, name: str, tools: list[str], **limits: Any) -> None:
    spec = agent_spec(name, tools=tools, model=MODEL, instructions=f"You are {name}.")
    spec = spec.model_copy(update={"limits": AgentLimits(**limits)})
    await publish(s.kafka, AGENTS, agent_created(spec), tenant_id=tenant)

    async def known() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.agents.resolve(name, None) is not None

    await eventually(known, what=f"agent {name} projected")


def agent_step(key: str, name: str, task: str, **extra: Any) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.AGENT,
        agent=AgentStep(agent=name, task=task, input={"n": 1}, **extra),
    )


async def test_agent_calls_a_tool_then_answers(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    await agent(s, tenant, "helper", ["builtin.echo"])
    tag = uuid4().hex
    s.stub.script(
        Reply(tool_calls=[{"name": "builtin_echo", "arguments": {"said": tag}}]),
        Reply(text=f"finished {tag}"),
    )
    run_id = await run_plan(s, tenant, [agent_step("work", "helper", f"do it {tag}")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    step = (await steps_of(s, tenant, run_id))["work"]
    assert step.output == {"answer": f"finished {tag}", "turns": 2, "messages": 5}
    cp = step.checkpoint
    assert cp is not None
    assert (cp["turn"], cp["pending_tool_calls"], "continue" in cp) == (2, [], False)
    roles = [m["role"] for m in cp["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert cp["messages"][0]["content"] == "You are helper."
    assert cp["messages"][1]["content"] == f'do it {tag}\n\nInput:\n{{"n": 1}}'
    assert json.loads(cp["messages"][3]["content"]) == {"said": tag}
    assert cp["tokens"] == step.tokens > 0
    # one attempt for the whole loop; both turns reached the model once
    assert step.attempt == 1
    assert s.calls(f"do it {tag}") == 2
    second = s.stub.bodies[-1]
    assert second["messages"][3] == {
        "role": "tool",
        "tool_call_id": cp["messages"][2]["tool_calls"][0]["id"],
        "content": json.dumps({"said": tag}),
    }
    assert [t["function"]["name"] for t in second["tools"]] == ["builtin_echo"]
    assert run.manifest["agents"]["helper"]["version"] == 1
    assert run.tokens_used == step.tokens


async def test_catalog_tool_is_offered_and_run(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    versioned, head = tool_published(tool_spec("lookup.user"))
    await publish(s.kafka, TOOLS, versioned, tenant_id=tenant)
    await publish(s.kafka, TOOLS, head, tenant_id=tenant)

    async def known() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.tools.resolve("lookup.user", None) is not None

    await eventually(known, what="tool projected")
    await agent(s, tenant, "finder", ["lookup.user"])
    tag = uuid4().hex
    s.stub.script(
        Reply(tool_calls=[{"name": "lookup_user", "arguments": {"id": 7}}]),
        Reply(text="found"),
    )
    run_id = await run_plan(s, tenant, [agent_step("find", "finder", f"find {tag}")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    cp = (await steps_of(s, tenant, run_id))["find"].checkpoint
    assert cp is not None
    assert json.loads(cp["messages"][3]["content"]) == {"id": 7}
    assert run.manifest["tools"]["lookup.user"]["version"] == "1.0.0"
    first = next(b for b in s.stub.bodies if f"find {tag}" in str(b))
    assert first["tools"][0]["function"]["description"] == "lookup.user for tests"


async def test_agent_out_of_turns_fails_with_agent_limit(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    await agent(s, tenant, "looper", ["builtin.echo"], max_steps=2)
    call = Reply(tool_calls=[{"name": "builtin_echo", "arguments": {}}])
    s.stub.script(call, call, call)
    tag = uuid4().hex
    run_id = await run_plan(s, tenant, [agent_step("loop", "looper", f"loop {tag}")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "failed"
    step = (await steps_of(s, tenant, run_id))["loop"]
    assert step.error is not None
    assert (step.error["code"], step.error["retryable"]) == ("agent_limit", False)
    assert step.checkpoint is not None
    assert step.checkpoint["turn"] == 2
    assert s.calls(f"loop {tag}") == 2


async def test_rerun_replays_agent_turns_from_the_gateway_cache(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    await agent(s, tenant, "replayer", ["builtin.echo"])
    tag = uuid4().hex
    s.stub.script(
        Reply(tool_calls=[{"name": "builtin_echo", "arguments": {"k": tag}}]),
        Reply(text="replayed"),
    )
    steps = [
        agent_step("think", "replayer", f"replay {tag}"),
        llm_step("after", f"{tag} after", depends_on=["think"], model="late-model"),
    ]
    run_id = await run_plan(s, tenant, steps)
    failed = await settled(s, tenant, run_id, "failed", "completed")
    assert failed.failed_step == "after"
    first = (await steps_of(s, tenant, run_id))["think"]
    assert s.calls(f"replay {tag}") == 2
    await add_model(s, tenant, await provider_id(s, tenant), "late-model")
    async with s.execution.deps.uow(tenant) as uow:
        run = await uow.executions.get(run_id, lock=True)
        assert run is not None
        await runs.rerun(uow, run, from_step="think")
        await uow.commit()
    done = await settled(s, tenant, run_id, "completed", "failed")
    assert done.status == "completed", done.error
    again = (await steps_of(s, tenant, run_id))["think"]
    assert again.generation == first.generation + 1
    assert again.output == first.output
    # both turns answered from the cache: nothing new upstream, nothing more paid
    assert s.calls(f"replay {tag}") == 2
    async with s.execution.deps.uow(tenant) as uow:
        calls = [c for c in await uow.llm_calls.of(run_id) if c["key"] == "think"]
    assert [c["cached"] for c in calls] == [False, False, True, True]
    assert again.cost == first.cost
