"""A plan run calling catalog tools by their bindings: an `http` tool presenting a tenant
secret as a bearer token (the receiving server checks it). The secret reaches the server
and nowhere else: no log line, event on execution's topic, API answer or step output."""

from __future__ import annotations

import json
import logging
from uuid import uuid4

import pytest

from agentsuite_contracts.catalog import AuthScheme, BindingKind, ToolAuth, ToolBinding
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from tests.integration.execution.bindings_support import (
    api_answers,
    guarded,
    publish_tools,
    run_events,
    stored,
)
from tests.integration.execution.engine_support import approve, run_plan, wait_for
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import tool_spec

TOKEN = "tok-5c1e9b7d-bearer-secret-value"


def step(key: str, tool: str, depends_on: list[str] | None = None) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=depends_on or [],
        tool=ToolStep(tool=tool, input={"q": key}),
    )


async def test_an_http_tool_presents_its_bearer_secret_and_it_leaks_nowhere(
    engine: Execution, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = uuid4()
    put = await engine.client.put(
        "/v1/secrets/crm-token", json={"value": TOKEN}, headers=auth(tenant)
    )
    assert put.status_code == 201, put.text
    async with guarded(TOKEN) as hook:
        name = f"crm.lookup.{uuid4().hex[:8]}"
        binding = ToolBinding(
            kind=BindingKind.HTTP,
            target=hook.url,
            auth=ToolAuth(scheme=AuthScheme.BEARER, secret_name="crm-token"),
        )
        [tool_id] = await publish_tools(engine, tenant, [tool_spec(name, binding=binding)])
        plan = await approve(engine, tenant, [step("lookup", name)])
        execution_id = await run_plan(engine, tenant, plan)
        run = await wait_for(engine, tenant, execution_id)
        assert run.status == "completed", run.error
        assert hook.seen == [f"Bearer {TOKEN}"]
        events = await run_events(engine, execution_id)
        answers = await api_answers(engine, tenant, execution_id)
        rows = await stored(engine, tenant, execution_id)
    output = json.loads(answers[1])["items"][0]["output"]
    assert output["ok"] is True
    # the tool echoed its credential: masked in the output
    assert TOKEN not in output["echo"]
    assert "***" in output["echo"]
    assert not [e for e in events if TOKEN.encode() in e]
    # the step's end names the tool version that ran
    [succeeded] = [
        json.loads(e.split(b"\n")[0])["payload"] for e in events if b"execution.step.succeeded" in e
    ]
    assert succeeded["tool_id"] == str(tool_id)
    assert succeeded["tool_version"] == "1.0.0"
    assert not [a for a in answers if TOKEN in a]
    assert TOKEN not in json.dumps(rows, default=str)
    assert not [r for r in caplog.records if TOKEN in r.getMessage()]


async def test_a_tool_naming_another_tenants_secret_fails_without_calling(
    engine: Execution,
) -> None:
    owner, other = uuid4(), uuid4()
    put = await engine.client.put(
        "/v1/secrets/their-token", json={"value": TOKEN}, headers=auth(owner)
    )
    assert put.status_code == 201
    async with guarded(TOKEN) as hook:
        name = f"crm.steal.{uuid4().hex[:8]}"
        binding = ToolBinding(
            kind=BindingKind.HTTP,
            target=hook.url,
            auth=ToolAuth(scheme=AuthScheme.BEARER, secret_name="their-token"),
        )
        await publish_tools(engine, other, [tool_spec(name, binding=binding)])
        plan = await approve(engine, other, [step("steal", name)])
        execution_id = await run_plan(engine, other, plan)
        run = await wait_for(engine, other, execution_id)
        assert hook.seen == []
    assert run.status == "failed"
    answers = await api_answers(engine, other, execution_id)
    [failed] = json.loads(answers[1])["items"]
    assert failed["error"]["code"] == "secret_not_found", failed
