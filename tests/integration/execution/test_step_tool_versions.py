"""Each `execution.step.*` end names the tool version THAT step ran (issue 16: usage per
tool version is counted from these events), read from the broker as a consumer sees them:
the head moving between two steps of one run, and an agent pinning an older version than
a tool step of the same run uses, each step names its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_contracts.catalog import BindingKind, ToolBinding, ToolPin, ToolSpec
from agentsuite_contracts.steps import ApprovalStep, PlanStep, StepKind
from agentsuite_contracts.topic_names import CATALOG_TOOLS_V1
from tests.integration.execution.bindings_support import run_events
from tests.integration.execution.gateway_support import (
    Stack,
    eventually,
    run_plan,
    settled,
    stack,
    tenant_with_models,
)
from tests.integration.execution.harness import auth
from tests.integration.execution.publish import publish, tool_published, tool_spec
from tests.integration.execution.test_agent_catalog import agent, agent_step, tool_step, tools
from tests.integration.llm_gateway.stub import Reply


@pytest.fixture(scope="module")
async def s(
    execution_db: ServiceDb,
    pg_admin_url: str,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    secrets = tmp_path_factory.mktemp("step-tool-stack")
    async with stack(execution_db, pg_admin_url, kafka_bootstrap, secrets) as started:
        yield started


@pytest.fixture(autouse=True)
def fresh_queue(s: Stack) -> None:
    s.stub.queue.clear()


async def ends(s: Stack, run_id: UUID) -> dict[str, dict[str, Any]]:
    """The run's `execution.step.succeeded` payloads on execution's topic, by step."""
    records = await run_events(s.execution, run_id)
    payloads = (json.loads(r.split(b"\n")[0])["payload"] for r in records)
    return {p["step"]: p for p in payloads if p["type"] == "execution.step.succeeded"}


def ran(payload: dict[str, Any]) -> tuple[Any, Any, Any]:
    return payload.get("tool_id"), payload.get("tool_version_id"), payload.get("tool_version")


async def pending_approval(s: Stack, tenant: UUID, run_id: UUID) -> str:
    async def opened() -> str | None:
        reply = await s.execution.client.get(
            f"/v1/executions/{run_id}/approvals", headers=auth(tenant)
        )
        assert reply.status_code == 200, reply.text
        pending = [a["approval_id"] for a in reply.json() if a["state"] == "pending"]
        return pending[0] if pending else None

    found: str = await eventually(opened, what="the gate's approval request")
    return found


async def move_head(s: Stack, tenant: UUID, tool_id: UUID, spec: ToolSpec) -> UUID:
    """Publish `spec` as tool `tool_id`'s new head, once projected; its version id."""
    version, head = tool_published(spec, tool_id)
    for event in (version, head):
        await publish(s.kafka, CATALOG_TOOLS_V1, event, tenant_id=tenant)

    async def moved() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            found = await uow.tools.resolve(spec.name, None)
        return found is not None and found.version == spec.version

    await eventually(moved, what=f"the head at {spec.version}")
    return version.tool_version_id


async def test_the_head_moving_between_two_steps_each_names_its_own_version(s: Stack) -> None:
    tenant, approver = await tenant_with_models(s), uuid4()
    name = f"moving.{uuid4().hex[:8]}"
    old, new = tool_spec(name, "1.0.0"), tool_spec(name, "2.0.0")
    tool_id = await tools(s, tenant, old)
    gate = PlanStep(
        key="gate",
        name="gate",
        kind=StepKind.APPROVAL,
        depends_on=["first"],
        approval=ApprovalStep(prompt="go on?", approvers=[str(approver)]),
    )
    second = tool_step("second", name).model_copy(update={"depends_on": ["gate"]})
    run_id = await run_plan(s, tenant, [tool_step("first", name), gate, second])
    approval_id = await pending_approval(s, tenant, run_id)
    # the head moves while the run waits between its two steps of the tool
    v2 = await move_head(s, tenant, tool_id, new)
    decided = await s.execution.client.post(
        f"/v1/executions/{run_id}/signals",
        json={"type": "approval", "approval_id": approval_id, "decision": "approve"},
        headers=auth(tenant, subject=approver),
    )
    assert decided.status_code == 200, decided.text
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    ended = await ends(s, run_id)
    assert ran(ended["first"])[::2] == (str(tool_id), "1.0.0")
    assert ran(ended["second"]) == (str(tool_id), str(v2), "2.0.0")


async def test_an_agents_pinned_version_and_a_tool_steps_head_each_name_their_own(
    s: Stack,
) -> None:
    tenant = await tenant_with_models(s)
    tag = uuid4().hex
    name = f"pinned.{tag[:8]}"
    tool_id = await tools(s, tenant, tool_spec(name, "1.0.0"), tool_spec(name, "2.0.0"))
    await agent(
        s, tenant, f"pin-{tag[:8]}", tools=[name], tool_pins=[ToolPin(name=name, version="1.0.0")]
    )
    fn = name.replace(".", "_")
    s.stub.script(Reply(tool_calls=[{"name": fn, "arguments": {"said": tag}}]), Reply(text="ok"))
    after = tool_step("t", name).model_copy(update={"depends_on": ["a"]})
    run_id = await run_plan(s, tenant, [agent_step("a", f"pin-{tag[:8]}", f"go {tag}"), after])
    run = await settled(s, tenant, run_id, "completed", "failed")
    assert run.status == "completed", run.error
    ended = await ends(s, run_id)
    # the tool step ran the head: its end names 2.0.0, not the agent's pin recorded first
    assert ran(ended["t"])[::2] == (str(tool_id), "2.0.0")
    # an agent step's calls may run several tools: its end names no one tool, it lists
    # the versions its calls ran (here the pin), each with its count
    assert ran(ended["a"]) == (None, None, None)
    [used] = ended["a"]["tool_calls"]
    assert (used["tool"], used["tool_id"], used["tool_version"], used["calls"]) == (
        name,
        str(tool_id),
        "1.0.0",
        1,
    )


async def test_a_rerun_names_the_version_the_rerun_ran(s: Stack) -> None:
    tenant = await tenant_with_models(s)
    name = f"fixed.{uuid4().hex[:8]}"
    broken = tool_spec(name, "1.0.0", binding=ToolBinding(kind=BindingKind.BUILTIN, target="fail"))
    tool_id = await tools(s, tenant, broken)
    run_id = await run_plan(s, tenant, [tool_step("t", name)])
    failed = await settled(s, tenant, run_id, "completed", "failed")
    assert failed.status == "failed"
    # the fix is published as the head; the rerun resolves the head again and runs it
    await move_head(s, tenant, tool_id, tool_spec(name, "2.0.0"))
    again = await s.execution.client.post(
        f"/v1/executions/{run_id}/rerun", json={}, headers=auth(tenant)
    )
    assert again.status_code == 200, again.text
    run = await settled(s, tenant, run_id, "completed")
    assert run.status == "completed", run.error

    async def both() -> list[dict[str, Any]] | None:
        records = await run_events(s.execution, run_id)
        payloads = [json.loads(r.split(b"\n")[0])["payload"] for r in records]
        mine = [p for p in payloads if p.get("step") == "t" and "tool_version" in p]
        return mine if any(p["type"] == "execution.step.succeeded" for p in mine) else None

    ended = {p["type"]: p for p in await eventually(both, what="the rerun's end on the topic")}
    assert ran(ended["execution.step.failed"])[::2] == (str(tool_id), "1.0.0")
    assert ran(ended["execution.step.succeeded"])[::2] == (str(tool_id), "2.0.0")
