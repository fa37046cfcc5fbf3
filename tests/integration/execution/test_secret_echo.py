"""A tool that refuses its credential and echoes it back in a long 401 body: the bearer
straddling where the error's text is cut, or the query credential inside the URL it
quotes (URL-encoded, as it was sent). No 4-character piece of the secret reaches the
stored step error, execution's events or its API answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote_plus
from uuid import uuid4

import pytest
from aiohttp import web

from agentsuite_contracts.catalog import AuthScheme, BindingKind, ToolAuth, ToolBinding
from agentsuite_execution.tools.webhook import SNIPPET
from tests.integration.execution.bindings_support import (
    api_answers,
    publish_tools,
    run_events,
    stored,
)
from tests.integration.execution.engine_support import approve, run_plan, wait_for
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import tool_spec
from tests.integration.execution.test_bindings_run import step

# characters JSON and URLs both leave alone, so neither encoding hides a piece of it here,
# and no uuid, timestamp or word of an event holds 4 of them in a row
SECRET = "Qz7+Wv9/Xk3=Jm5+Rp8/Ty2="
PIECE = 4


def pieces(value: str) -> set[str]:
    return {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}


LEAKS = pieces(SECRET) | pieces(quote_plus(SECRET))


@asynccontextmanager
async def echoing() -> AsyncIterator[str]:
    """A tool that answers 401, quoting what it got at once and again where the error is
    cut, and then far more than execution reads of a refusal."""

    async def handle(request: web.Request) -> web.Response:
        got = request.headers.get("Authorization") or request.raw_path
        # where the credential's value starts in what it got, as sent
        start = len("Bearer ") if got.startswith("Bearer ") else got.index("api_key=") + 8
        head = f'{{"error": "unauthorized", "got": "{got}", "pad": "'
        # its second echo starts a few characters before the cut
        pad = "x" * (SNIPPET - len(head) - len('", "again": "') - start - 6)
        body = f'{head}{pad}", "again": "{got}", "tail": "{"y" * 100_000}"}}'
        return web.Response(status=401, text=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("POST", "/hook", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/hook"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "auth_of",
    [
        ToolAuth(scheme=AuthScheme.BEARER, secret_name="echoed"),
        ToolAuth(scheme=AuthScheme.QUERY, secret_name="echoed", name="api_key"),
    ],
    ids=["bearer-at-the-cut", "query-in-the-echoed-url"],
)
async def test_a_secret_echoed_in_a_long_refusal_leaks_no_piece(
    engine: Execution, auth_of: ToolAuth
) -> None:
    tenant = uuid4()
    put = await engine.client.put(
        "/v1/secrets/echoed", json={"value": SECRET}, headers=auth(tenant)
    )
    assert put.status_code == 201, put.text
    async with echoing() as url:
        name = f"crm.echo.{uuid4().hex[:8]}"
        binding = ToolBinding(kind=BindingKind.HTTP, target=url, auth=auth_of)
        await publish_tools(engine, tenant, [tool_spec(name, binding=binding)])
        plan = await approve(engine, tenant, [step("echo", name)])
        execution_id = await run_plan(engine, tenant, plan)
        run = await wait_for(engine, tenant, execution_id)
        events = await run_events(engine, execution_id)
        answers = await api_answers(engine, tenant, execution_id)
        rows = await stored(engine, tenant, execution_id)
    assert run.status == "failed"
    [failed] = json.loads(answers[1])["items"]
    error = failed["error"]
    assert error["code"] == "tool_error", error
    assert error["details"]["status"] == 401
    # the refusal is there (cut), the credential is not
    assert error["details"]["body"].startswith('{"error": "unauthorized"')
    assert len(error["details"]["body"]) <= SNIPPET
    texts = {
        "stored": json.dumps(rows, default=str),
        "events": b"\n".join(events).decode("utf-8", "replace"),
        "api": "\n".join(answers),
    }
    leaked = {where: sorted(p for p in LEAKS if p in text) for where, text in texts.items()}
    assert leaked == {"stored": [], "events": [], "api": []}, error["details"]["body"]
