"""How streams end, as the traces and the budget see them: a stream cut after its first
token is an error trace (`stream_cut`) charged for what was sent; a client that hangs up
mid-stream leaves an error trace (`client_closed`) and no budget held; a stream whose every
route fails before a token is a 502 and an error trace of a stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from aiohttp import web

from tests.integration.llm_gateway.e2e_support import duo, llm, trace_of
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import budget, model, provider
from tests.integration.llm_gateway.stub import CutAfterFirstToken, Fail, Stub

HELLO: Any = [{"role": "user", "content": "one two three four five six"}]


@pytest.fixture
async def pair(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub, Stub]]:
    async with duo(gateway, price_a=("1", "1"), price_b=("1", "1")) as (tenant, first, second, _):
        yield tenant, first, second


async def test_a_stream_cut_after_its_first_token_is_an_error_trace(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, _ = pair
    first.script(CutAfterFirstToken())
    request_id = str(uuid.uuid4())
    stream = await llm(base_url, tenant).chat.completions.create(
        model="duo", messages=HELLO, stream=True, extra_headers={"X-Request-Id": request_id}
    )
    with pytest.raises(openai.APIError):
        async for _ in stream:
            pass
    found = await trace_of(gateway, tenant, request_id)
    assert (found["status"], found["error_code"], found["stream"]) == ("error", "stream_cut", True)
    assert found["model"] == "model-a"
    assert found["ttft_ms"] is not None
    # no usage came: what was sent is estimated, and charged
    assert found["completion_tokens"] > 0
    assert found["cost_micros"] > 0


@contextlib.asynccontextmanager
async def slow_stream_upstream() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """An OpenAI-compatible upstream whose stream sends one token, then one every 10 s;
    the event is set when the gateway hangs up on it."""
    gone = asyncio.Event()

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for i in range(100):
                chunk = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "slow",
                    "choices": [
                        {"index": 0, "delta": {"content": f"t{i} "}, "finish_reason": None}
                    ],
                }
                await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                for _ in range(200):  # 10 s, watching for the gateway hanging up
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        gone.set()
                        return response
                    await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            gone.set()
            raise
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v1", gone
    finally:
        await runner.cleanup()


async def test_a_client_hanging_up_mid_stream_is_recorded_and_releases_its_budget(
    gateway: Gateway, base_url: str
) -> None:
    tenant = uuid.uuid4()
    async with slow_stream_upstream() as (url, gone):
        pid = await provider(gateway, tenant, "slow", url)
        await model(gateway, tenant, pid, "slow-model", price=("1", "1"))
        bid = await budget(gateway, tenant, scope="tenant", period="month", limit_tokens=100_000)
        request_id = str(uuid.uuid4())
        headers = {**auth(tenant, ["llm:invoke"]), "X-Request-Id": request_id}
        body = {"model": "slow-model", "messages": HELLO, "stream": True}
        async with (
            httpx.AsyncClient(base_url=base_url) as http,
            http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response,
        ):
            assert response.status_code == 200
            async for data in response.aiter_bytes():
                assert b"t0" in data
                break  # the first token, then hang up
        # the gateway stops reading the upstream too, rather than pulling tokens nobody reads
        await asyncio.wait_for(gone.wait(), 5)
        found = await trace_of(gateway, tenant, request_id)
    assert (found["status"], found["error_code"], found["stream"]) == (
        "error",
        "client_closed",
        True,
    )
    assert found["completion_tokens"] > 0
    r = await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))
    assert r.json()["reserved_tokens"] == 0
    assert r.json()["spent_tokens"] == found["total_tokens"]


async def test_a_stream_that_never_starts_is_a_502_and_an_error_trace(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    second.script(*[Fail(502)] * tries)
    request_id = str(uuid.uuid4())
    with pytest.raises(openai.APIStatusError) as failed:
        await llm(base_url, tenant).chat.completions.create(
            model="duo", messages=HELLO, stream=True, extra_headers={"X-Request-Id": request_id}
        )
    assert failed.value.status_code == 502
    found = await trace_of(gateway, tenant, request_id)
    assert (found["status"], found["error_code"]) == ("error", "provider_error")
    assert len(found["attempts"]) == 2 * tries


async def test_a_stream_that_never_starts_is_traced_as_a_stream(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    second.script(*[Fail(502)] * tries)
    request_id = str(uuid.uuid4())
    with pytest.raises(openai.APIStatusError):
        await llm(base_url, tenant).chat.completions.create(
            model="duo", messages=HELLO, stream=True, extra_headers={"X-Request-Id": request_id}
        )
    found = await trace_of(gateway, tenant, request_id)
    assert found["status"] == "error"
    assert found["stream"] is True
