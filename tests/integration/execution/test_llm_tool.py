"""A tool bound as `llm`, on the real engine, the real llm-gateway (stub upstream) and the
real broker: the step's request names the binding's gateway prompt (name + label), which
the gateway renders with the step's input as its variables; an output schema makes the
answer JSON, parsed into the output; the step's end names the tool version that ran."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from tests.integration.execution.bindings_support import publish_tools
from tests.integration.execution.gateway_support import (
    MODEL,
    Stack,
    events,
    run_plan,
    settled,
    stack,
    steps_of,
    tenant_with_models,
)
from tests.integration.execution.publish import tool_spec
from tests.integration.llm_gateway.harness import auth as gw_auth
from tests.integration.llm_gateway.stub import Reply


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("llm-tool-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


async def prompt(s: Stack, tenant: UUID, name: str, text: str) -> None:
    """A gateway prompt whose `production` label renders `text` as a system turn."""
    made = await s.gateway.client.post(
        "/v1/prompts",
        json={"name": name, "messages": [{"role": "system", "content": text}], "model": MODEL},
        headers=gw_auth(tenant),
    )
    assert made.status_code == 201, made.text
    label = await s.gateway.client.put(
        f"/v1/prompts/{name}/labels/production", json={"version": 1}, headers=gw_auth(tenant)
    )
    assert label.status_code == 200, label.text


def tool_step(key: str, tool: str, input: dict[str, str]) -> PlanStep:
    return PlanStep(key=key, name=key, kind=StepKind.TOOL, tool=ToolStep(tool=tool, input=input))


async def test_an_llm_bound_tool_renders_its_gateway_prompt(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    await prompt(s, tenant, f"summarise-{tag[:8]}", "Summarise for {{ who }} " + tag)
    name = f"llm.summarise.{tag[:8]}"
    binding = ToolBinding(
        kind=BindingKind.LLM,
        target=f"summarise-{tag[:8]}",
        config={"prompt": f"summarise-{tag[:8]}", "label": "production", "model": MODEL},
    )
    [tool_id] = await publish_tools(s.execution, tenant, [tool_spec(name, binding=binding)])
    run_id = await run_plan(s, tenant, [tool_step("sum", name, {"who": "Ada"})])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    step = (await steps_of(s, tenant, run_id))["sum"]
    # the stub echoes the last user turn: the step's input, sent as the turn answered
    assert json.loads(step.output["content"]) == {"who": "Ada"}
    assert step.output["model"] == MODEL
    [body] = [b for b in s.stub.bodies if tag in str(b)]
    assert body["messages"][0] == {"role": "system", "content": f"Summarise for Ada {tag}"}
    [ended] = await events(s, tenant, run_id, "execution.step.succeeded")
    assert ended["data"]["tool_id"] == str(tool_id)
    assert ended["data"]["tool_version"] == "1.0.0"


async def test_an_output_schema_makes_the_answer_json(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    await prompt(s, tenant, f"classify-{tag[:8]}", "Classify " + tag)
    name = f"llm.classify.{tag[:8]}"
    binding = ToolBinding(
        kind=BindingKind.LLM,
        target=f"classify-{tag[:8]}",
        config={"prompt": f"classify-{tag[:8]}", "model": MODEL},
    )
    spec = tool_spec(name, binding=binding).model_copy(
        update={"output_schema": {"type": "object", "properties": {"label": {"type": "string"}}}}
    )
    await publish_tools(s.execution, tenant, [spec])
    s.stub.script(Reply(text='{"label": "spam"}'))
    run_id = await run_plan(s, tenant, [tool_step("cls", name, {"text": "buy now"})])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    step = (await steps_of(s, tenant, run_id))["cls"]
    assert step.output["json"] == {"label": "spam"}
    [body] = [b for b in s.stub.bodies if tag in str(b)]
    assert body["response_format"]["type"] == "json_schema"
