"""An `http` tool whose answer PostgreSQL cannot hold (a NUL in its JSON output, or in the
error body it answers with) fails its step once with a clear code. It used to make the
attempt's record fail, so the lease ran out and the tool was called again and again (every
lease, up to the loss limit) for an answer that could never be stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import pytest
from aiohttp import web

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from agentsuite_execution.handlers import projections
from agentsuite_execution.handlers.runs import StartRun, start
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, plan_approved, tool_published, tool_spec
from tests.integration.execution.test_api import settled

ANSWERS: dict[str, tuple[int, bytes, str]] = {
    "nul-output": (200, b'{"text": "a\\u0000b"}', "application/json"),
    "nul-key": (200, b'{"ok": [{"a\\u0000": 1}]}', "application/json"),
    "nul-text": (200, b"plain\x00words", "text/plain"),
    "nul-error-body": (400, b"bad\x00request", "text/plain"),
    # hostile review: an output nested past the kit's bound (pydantic stops serializing at
    # ~255 levels) was stored, then the attempt's record failed: the tool was called again
    # each lease until `lease_lost`; a literal past a double is refused by the parser
    "deep-output": (200, b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}", "application/json"),
    "huge-number": (200, b'{"x": 1e999}', "application/json"),
}


@asynccontextmanager
async def hostile_tool() -> AsyncIterator[tuple[str, list[str]]]:
    """A local tool answering each path as ANSWERS says; the paths it was called on."""
    calls: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        calls.append(path)
        status, body, kind = ANSWERS[path]
        return web.Response(status=status, body=body, content_type=kind)

    app = web.Application()
    app.router.add_route("*", "/{path}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", calls
    finally:
        await runner.cleanup()


async def run_tool(ex: Execution, tenant: UUID, url: str) -> UUID:
    name = f"hostile.{uuid4().hex[:8]}"
    version, head = tool_published(
        tool_spec(name, binding=ToolBinding(kind=BindingKind.HTTP, target=url))
    )
    step = PlanStep(key="call", name="call", kind=StepKind.TOOL, tool=ToolStep(tool=name, input={}))
    approved = plan_approved(steps=[step])
    async with ex.deps.uow(tenant) as uow:
        await projections.tool_version_published(envelope(version, tenant_id=tenant), uow)
        await projections.tool_published(envelope(head, tenant_id=tenant), uow)
        await projections.plan_approved(envelope(approved, tenant_id=tenant), uow)
        run = await start(
            StartRun(plan_id=approved.plan_id, plan_version=approved.version), uow, ex.deps
        )
        await uow.commit()
    return run.execution_id


@pytest.mark.parametrize("path", list(ANSWERS))
async def test_an_unstorable_tool_answer_fails_the_step_once(engine: Execution, path: str) -> None:
    tenant = uuid4()
    async with hostile_tool() as (base, calls):
        run_id = await run_tool(engine, tenant, f"{base}/{path}")
        done = await settled(engine, tenant, str(run_id), within=60)
    assert done["status"] == "failed", done
    expected = {"nul-error-body": "tool_error", "huge-number": "bad_response"}.get(
        path, "invalid_output"
    )
    assert done["error"]["code"] == expected, done["error"]
    assert calls == [path], "called again: the attempt was lost instead of failed"
