"""Catalog agents as catalog now publishes them, on the real engine, the real llm-gateway
(stub upstream) and the real broker: instructions as a gateway prompt reference
(`prompt_ref`), tools pinned to versions (`tool_pins`), per-version deprecation with a
sunset (`catalog.tool_version.deprecated`), and tools bound as `llm` refused in a loop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.catalog import (
    AgentSpec,
    BindingKind,
    PromptRef,
    ToolBinding,
    ToolPin,
    ToolSpec,
    ToolVersionDeprecated,
)
from agentsuite_contracts.steps import AgentStep, PlanStep, StepKind, ToolStep
from agentsuite_contracts.topic_names import CATALOG_AGENTS_V1, CATALOG_TOOLS_V1
from tests.integration.execution.gateway_support import (
    MODEL,
    Stack,
    eventually,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.execution.publish import (
    agent_created,
    publish,
    tool_published,
    tool_spec,
)
from tests.integration.llm_gateway.harness import auth as gw_auth
from tests.integration.llm_gateway.stub import Reply

PAST = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE = datetime(2999, 1, 1, tzinfo=UTC)
# a binding that would fail if it ran: the pinned version must be what runs
BLOCKED = ToolBinding(kind=BindingKind.HTTP, target="http://127.0.0.1:9/never")


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("agent-catalog-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_queue(s: Stack) -> None:
    s.stub.queue.clear()


async def agent(s: Stack, tenant: UUID, name: str, **fields: Any) -> None:
    spec = AgentSpec(name=name, version=1, instructions=f"Plain {name}.", model=MODEL, **fields)
    await publish(s.kafka, CATALOG_AGENTS_V1, agent_created(spec), tenant_id=tenant)

    async def known() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.agents.resolve(name, None) is not None

    await eventually(known, what=f"agent {name} projected")


async def tools(s: Stack, tenant: UUID, *specs: ToolSpec) -> UUID:
    """Publish `specs` as versions of one tool, the last one its head; the tool's id."""
    tool_id = uuid4()
    for spec in specs:
        for event in tool_published(spec, tool_id):
            await publish(s.kafka, CATALOG_TOOLS_V1, event, tenant_id=tenant)
    head = specs[-1]

    async def known() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            found = await uow.tools.resolve(head.name, None)
            return found is not None and found.version == head.version

    await eventually(known, what=f"tool {head.name} projected")
    return tool_id


async def deprecate(
    s: Stack, tenant: UUID, tool_id: UUID, spec: ToolSpec, sunset: datetime
) -> None:
    event = ToolVersionDeprecated(
        tool_id=tool_id, tool_version_id=uuid4(), spec=spec, sunset_at=sunset
    )
    await publish(s.kafka, CATALOG_TOOLS_V1, event, tenant_id=tenant)

    async def recorded() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            found = await uow.tools.find(spec.name, spec.version)
            return found is not None and found.version_sunset_at == sunset

    await eventually(recorded, what=f"{spec.name} {spec.version} deprecated")


def agent_step(key: str, name: str, task: str) -> PlanStep:
    return PlanStep(key=key, name=key, kind=StepKind.AGENT, agent=AgentStep(agent=name, task=task))


def tool_step(key: str, name: str) -> PlanStep:
    return PlanStep(key=key, name=key, kind=StepKind.TOOL, tool=ToolStep(tool=name, input={"a": 1}))


async def prompt(s: Stack, tenant: UUID, name: str, *texts: str) -> None:
    """A gateway prompt with one version per text (a system turn), `production` at 1."""
    for i, text in enumerate(texts):
        body = {"role": "system", "content": text}
        if i == 0:
            made = await s.gateway.client.post(
                "/v1/prompts",
                json={"name": name, "messages": [body], "model": MODEL},
                headers=gw_auth(tenant),
            )
        else:
            made = await s.gateway.client.post(
                f"/v1/prompts/{name}/versions",
                json={"messages": [body], "model": MODEL},
                headers=gw_auth(tenant),
            )
        assert made.status_code == 201, made.text
    label = await s.gateway.client.put(
        f"/v1/prompts/{name}/labels/production", json={"version": 1}, headers=gw_auth(tenant)
    )
    assert label.status_code == 200, label.text


async def failure(s: Stack, tenant: UUID, run_id: UUID, key: str) -> dict[str, Any]:
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "failed", run.status
    error = (await steps_of(s, tenant, run_id))[key].error
    assert error is not None
    return error


# --- prompt_ref ------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["label", "version"])
async def test_an_agents_prompt_ref_is_its_system_turn(s: Stack, by: str) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"sys-{tag[:8]}"
    await prompt(s, tenant, name, f"Labelled {tag}", f"Second {tag}")
    ref = (
        PromptRef(name=name, label="production")
        if by == "label"
        else PromptRef(name=name, version=2)
    )
    await agent(s, tenant, f"ref-{tag[:8]}", prompt_ref=ref, tools=["builtin.echo"])
    s.stub.script(
        Reply(tool_calls=[{"name": "builtin_echo", "arguments": {"x": 1}}]),
        Reply(text="done"),
    )
    run_id = await run_plan(s, tenant, [agent_step("a", f"ref-{tag[:8]}", f"task {tag}")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    wanted = f"Labelled {tag}" if by == "label" else f"Second {tag}"
    bodies = [b for b in s.stub.bodies if f"task {tag}" in str(b)]
    assert len(bodies) == 2
    for body in bodies:  # every turn: the rendered prompt first, the plain text never
        assert body["messages"][0] == {"role": "system", "content": wanted}
        assert "Plain ref-" not in json.dumps(body)
    cp = (await steps_of(s, tenant, run_id))["a"].checkpoint
    assert cp is not None
    assert [m["role"] for m in cp["messages"]] == ["user", "assistant", "tool", "assistant"]


# --- tool pins -------------------------------------------------------------------------------


async def test_a_pinned_tool_runs_its_pinned_version_not_the_head(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"pinned.{tag[:8]}"
    old = tool_spec(name, "1.0.0")
    head = tool_spec(name, "2.0.0", binding=BLOCKED).model_copy(update={"description": "head"})
    await tools(s, tenant, old, head)
    await agent(
        s, tenant, f"pin-{tag[:8]}", tools=[name], tool_pins=[ToolPin(name=name, version="1.0.0")]
    )
    fn = name.replace(".", "_")
    s.stub.script(Reply(tool_calls=[{"name": fn, "arguments": {"said": tag}}]), Reply(text="ok"))
    run_id = await run_plan(s, tenant, [agent_step("a", f"pin-{tag[:8]}", f"go {tag}")])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    cp = (await steps_of(s, tenant, run_id))["a"].checkpoint
    assert cp is not None
    # the pinned version's echo answered, not the head's http binding
    assert json.loads(cp["messages"][3]["content"]) == {"said": tag}
    first = next(b for b in s.stub.bodies if f"go {tag}" in str(b))
    assert first["tools"][0]["function"]["description"] == f"{name} for tests"
    assert run.manifest["tools"][name]["version"] == "1.0.0"


async def test_a_pin_to_an_unknown_version_fails_the_step(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"pinned.{tag[:8]}"
    await tools(s, tenant, tool_spec(name, "1.0.0"))
    await agent(
        s, tenant, f"bad-{tag[:8]}", tools=[name], tool_pins=[ToolPin(name=name, version="9.9.9")]
    )
    run_id = await run_plan(s, tenant, [agent_step("a", f"bad-{tag[:8]}", f"go {tag}")])
    error = await failure(s, tenant, run_id, "a")
    assert error["code"] == "unknown_tool_version"
    assert "9.9.9" in error["message"]
    assert name in error["message"]
    assert s.calls(f"go {tag}") == 0


# --- per-version deprecation -----------------------------------------------------------------


async def test_a_version_past_its_sunset_fails_a_tool_step_naming_the_head(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    name = f"dep.{uuid4().hex[:8]}"
    spec = tool_spec(name)
    tool_id = await tools(s, tenant, spec)
    await deprecate(s, tenant, tool_id, spec, PAST)
    run_id = await run_plan(s, tenant, [tool_step("t", name)])
    error = await failure(s, tenant, run_id, "t")
    assert error["code"] == "tool_sunset"
    assert name in error["message"]
    assert "1.0.0" in error["message"]


async def test_a_version_before_its_sunset_still_runs(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    name = f"dep.{uuid4().hex[:8]}"
    spec = tool_spec(name)
    tool_id = await tools(s, tenant, spec)
    await deprecate(s, tenant, tool_id, spec, FUTURE)
    run_id = await run_plan(s, tenant, [tool_step("t", name)])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    assert (await steps_of(s, tenant, run_id))["t"].output == {"a": 1}


async def test_a_pinned_version_past_its_sunset_fails_the_agent_step(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"dep.{tag[:8]}"
    old, head = tool_spec(name, "1.0.0"), tool_spec(name, "2.0.0")
    tool_id = await tools(s, tenant, old, head)
    await deprecate(s, tenant, tool_id, old, PAST)
    await agent(
        s, tenant, f"old-{tag[:8]}", tools=[name], tool_pins=[ToolPin(name=name, version="1.0.0")]
    )
    run_id = await run_plan(s, tenant, [agent_step("a", f"old-{tag[:8]}", f"go {tag}")])
    error = await failure(s, tenant, run_id, "a")
    assert error["code"] == "tool_sunset"
    assert "1.0.0" in error["message"]
    assert s.calls(f"go {tag}") == 0


# --- llm-bound tools in an agent's loop ------------------------------------------------------


async def test_an_llm_bound_tool_is_refused_when_the_agent_starts(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"llm.{tag[:8]}"
    binding = ToolBinding(kind=BindingKind.LLM, target=f"p-{tag[:8]}", config={})
    await tools(s, tenant, tool_spec(name, binding=binding))
    await agent(s, tenant, f"llm-{tag[:8]}", tools=[name])
    run_id = await run_plan(s, tenant, [agent_step("a", f"llm-{tag[:8]}", f"go {tag}")])
    error = await failure(s, tenant, run_id, "a")
    assert error["code"] == "unsupported_binding"
    assert name in error["message"]
    assert s.calls(f"go {tag}") == 0
