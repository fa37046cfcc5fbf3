"""A plan run calling catalog tools by their bindings: an `http` tool presenting a tenant
secret as a bearer token (the receiving server checks it) and an `mcp` tool on a real MCP
server (the SDK's) with its own bearer secret. Each secret reaches its server and nowhere
else: no log line, event on execution's topic, API answer or step output."""

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
from tests.integration.execution.mcp_support import mcp_server
from tests.integration.execution.publish import tool_spec

TOKEN = "tok-5c1e9b7d-bearer-secret-value"
MCP_TOKEN = "mcp-3e8a0f1b-bearer-secret-value"


def step(
    key: str, tool: str, depends_on: list[str] | None = None, input: dict[str, str] | None = None
) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=depends_on or [],
        tool=ToolStep(tool=tool, input={"q": key} if input is None else input),
    )


async def test_http_and_mcp_tools_present_their_secrets_and_they_leak_nowhere(
    engine: Execution, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = uuid4()
    for name, value in (("crm-token", TOKEN), ("mcp-token", MCP_TOKEN)):
        put = await engine.client.put(
            f"/v1/secrets/{name}", json={"value": value}, headers=auth(tenant)
        )
        assert put.status_code == 201, put.text
    async with guarded(TOKEN) as hook, mcp_server(MCP_TOKEN) as mcp:
        http_name, mcp_name = f"crm.lookup.{uuid4().hex[:8]}", f"mcp.whoami.{uuid4().hex[:8]}"
        http_binding = ToolBinding(
            kind=BindingKind.HTTP,
            target=hook.url,
            auth=ToolAuth(scheme=AuthScheme.BEARER, secret_name="crm-token"),
        )
        mcp_binding = ToolBinding(
            kind=BindingKind.MCP,
            target=mcp.url,
            config={"tool": "whoami"},
            auth=ToolAuth(scheme=AuthScheme.BEARER, secret_name="mcp-token"),
        )
        specs = [
            tool_spec(http_name, binding=http_binding),
            tool_spec(mcp_name, "2.1.0", binding=mcp_binding),
        ]
        http_id, mcp_id = await publish_tools(engine, tenant, specs)
        steps = [step("lookup", http_name), step("whoami", mcp_name, ["lookup"], {})]
        plan = await approve(engine, tenant, steps)
        execution_id = await run_plan(engine, tenant, plan)
        run = await wait_for(engine, tenant, execution_id)
        assert run.status == "completed", run.error
        assert hook.seen == [f"Bearer {TOKEN}"]
        assert mcp.seen_auth == [f"Bearer {MCP_TOKEN}"]
        events = await run_events(engine, execution_id)
        answers = await api_answers(engine, tenant, execution_id)
        rows = await stored(engine, tenant, execution_id)
    outputs = {i["key"]: i["output"] for i in json.loads(answers[1])["items"]}
    assert outputs["lookup"]["ok"] is True
    assert outputs["whoami"]["ok"] is True
    # both tools echoed their credential: masked in the outputs
    for key in ("lookup", "whoami"):
        assert "***" in outputs[key]["echo"]
    for secret in (TOKEN, MCP_TOKEN):
        assert not [e for e in events if secret.encode() in e]
        assert not [a for a in answers if secret in a]
        assert secret not in json.dumps(rows, default=str)
        assert not [r for r in caplog.records if secret in r.getMessage()]
    # each step's end names the tool version that ran
    ended = {
        p["step"]: p
        for p in (json.loads(e.split(b"\n")[0])["payload"] for e in events)
        if p["type"] == "execution.step.succeeded"
    }
    assert (ended["lookup"]["tool_id"], ended["lookup"]["tool_version"]) == (str(http_id), "1.0.0")
    assert (ended["whoami"]["tool_id"], ended["whoami"]["tool_version"]) == (str(mcp_id), "2.1.0")


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
