"""What the binding tests share: a receiving server that checks its credential, tools
published as catalog events on catalog.tools.v1, and every place a secret must never be
(log lines, execution's events on its topic, its API answers, step outputs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from aiohttp import web
from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import ToolSpec
from agentsuite_contracts.topic_names import CATALOG_TOOLS_V1, EXECUTION_EXECUTIONS_V1
from agentsuite_execution.uow import ExecutionUow
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import envelope, send, tool_published
from tests.integration.kafka_helpers import eventually


@dataclass
class Guarded:
    """A local `http` tool that answers only the expected bearer token, and echoes the
    Authorization header it got (a tool that leaks its credential into its output)."""

    token: str
    url: str = ""
    seen: list[str | None] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        got = request.headers.get("Authorization")
        self.seen.append(got)
        if got != f"Bearer {self.token}":
            return web.json_response({"error": "unauthorized", "got": got}, status=401)
        return web.json_response({"ok": True, "echo": got, "input": await request.json()})


@asynccontextmanager
async def guarded(token: str) -> AsyncIterator[Guarded]:
    hook = Guarded(token)
    app = web.Application()
    app.router.add_route("POST", "/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    hook.url = f"http://{host}:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def publish_tools(ex: Execution, tenant: UUID, specs: list[ToolSpec]) -> list[UUID]:
    """`specs` published as catalog does (catalog.tools.v1, through the broker), once
    execution's projection resolves every one of them; their tool ids."""
    published = [tool_published(s) for s in specs]
    events = [envelope(e, tenant_id=tenant) for pair in published for e in pair]
    await send(ex.kafka, CATALOG_TOOLS_V1, events)

    async def resolved() -> bool:
        async with ex.deps.uow(tenant) as uow:
            return all([await uow.tools.resolve(s.name, None) is not None for s in specs])

    await eventually(resolved, within=60)
    return [head.tool_id for _version, head in published]


async def run_events(ex: Execution, execution_id: UUID, within: float = 60.0) -> list[bytes]:
    """Every record of `execution_id` on execution's topic, once its run's end is there."""
    consumer = AIOKafkaConsumer(
        EXECUTION_EXECUTIONS_V1,
        bootstrap_servers=ex.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    mine: list[bytes] = []
    ends = (b"execution.execution.completed", b"execution.execution.failed")
    try:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    value = record.value or b""
                    headers = b"".join(v for _, v in record.headers or [])
                    if str(execution_id).encode() in value:
                        mine.append(value + b"\n" + headers)
            if any(end in value for value in mine for end in ends):
                return mine
        raise AssertionError(f"no end of run {execution_id} on {EXECUTION_EXECUTIONS_V1}")
    finally:
        await consumer.stop()


async def api_answers(ex: Execution, tenant: UUID, execution_id: UUID) -> list[str]:
    """What execution's API shows of the run: the run, its steps, logs and timeline."""
    base = f"/v1/executions/{execution_id}"
    out = []
    for path in (base, f"{base}/steps", f"{base}/logs", f"{base}/timeline", f"{base}/events"):
        answer = await ex.client.get(path, headers=auth(tenant))
        assert answer.status_code == 200, (path, answer.text)
        out.append(answer.text)
    return out


async def stored(ex: Execution, tenant: UUID, execution_id: UUID) -> list[Any]:
    """The run's rows as stored: steps (outputs, errors), attempts and its log."""

    async def read(uow: ExecutionUow) -> list[Any]:
        steps = await uow.steps.of(execution_id)
        attempts = await uow.steps.attempts_of(execution_id)
        return [*(s.output for s in steps), *(s.error for s in steps), *attempts]

    async with ex.deps.uow(tenant) as uow:
        return await read(uow)
