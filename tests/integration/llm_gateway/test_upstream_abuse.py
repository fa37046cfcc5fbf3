"""Upstreams misbehaving: every abuse ends in bounded time and memory with the right
UpstreamError, at the right point of a stream, and the gateway keeps serving.

"Bounded time" is shown by what ended each call (the error's kind, the stub seeing the
client go away), never by a stopwatch: a loaded CI box stretches any duration."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError
from agentsuite_llm_gateway.upstream.pool import Upstreams
from agentsuite_llm_gateway.upstream.transport import redact
from tests.integration.llm_gateway.harness import Gateway, auth, make_settings
from tests.integration.llm_gateway.setup import alias, model, provider
from tests.integration.llm_gateway.stub import (
    CutAfterFirstToken,
    CutBeforeFirstToken,
    Fail,
    Hang,
    Huge,
    Malformed,
    Redirect,
    Reply,
    Stub,
    stub_upstream,
)

TIMEOUT = 0.5
MAX_BYTES = 1024 * 1024
CHAT = {"model": "m", "messages": [{"role": "user", "content": "say something nice"}]}


@pytest.fixture
async def upstreams() -> AsyncIterator[Upstreams]:
    settings = make_settings(
        "postgresql+asyncpg://unused/unused",
        "unused:9092",
        upstream_timeout=TIMEOUT,
        upstream_first_token_timeout=TIMEOUT,
        upstream_idle_timeout=TIMEOUT,
        upstream_connect_timeout=TIMEOUT,
        upstream_max_bytes=MAX_BYTES,
    )
    pool = Upstreams(settings, Cipher(settings))
    yield pool
    await pool.aclose()


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    async with stub_upstream() as running:
        yield running


def call_to(base_url: str, body: dict[str, Any] | None = None) -> Call:
    upstream = Provider(uuid.uuid4(), "stub", ProviderKind.OPENAI, base_url)
    target = Model(uuid.uuid4(), "m", upstream, "stub-model", 8192)
    return Call(model=target, body=body or CHAT, credential="sk-test", timeout=TIMEOUT)


async def failure(coro: Any) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        await coro
    return caught.value


async def cut_off(stub: Stub) -> tuple[int, bool]:
    """(bytes written, whether the client went away) of the stub's `Huge` answer, once its
    handler noticed how it ended."""
    async with asyncio.timeout(30):
        while not stub.huge:  # noqa: ASYNC110  # the stub's handler sets it, no event
            await asyncio.sleep(0.01)
    [ended] = stub.huge
    return ended


async def collect(upstreams: Upstreams, call: Call, into: list[Any]) -> None:
    async for chunk in upstreams.adapter(call.model.provider).stream(call):
        into.append(chunk)


async def test_a_normal_call_sends_the_upstream_model_and_credential(
    upstreams: Upstreams, stub: Stub
) -> None:
    body = {**CHAT, "prompt": {"name": "p"}, "agentsuite": {"x": 1}, "cache": True}
    call = call_to(stub.url, body)
    reply = await upstreams.adapter(call.model.provider).complete(call)
    assert reply.body["choices"][0]["message"]["content"] == "say something nice"
    assert reply.tokens.prompt == 3
    assert reply.tokens.completion == 3
    [seen] = stub.requests
    assert seen.headers["Authorization"] == "Bearer sk-test"
    assert seen.body["model"] == "stub-model"
    assert not {"prompt", "agentsuite", "cache", "stream"} & set(seen.body)


async def test_malformed_json(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(Malformed())
    call = call_to(stub.url)
    error = await failure(upstreams.adapter(call.model.provider).complete(call))
    assert error.kind is Failure.BAD_RESPONSE
    assert "invalid JSON" in error.message


@pytest.mark.parametrize("declare_length", [False, True])
async def test_a_50_mb_body_is_cut_off_quickly_without_being_held(
    upstreams: Upstreams, stub: Stub, declare_length: bool
) -> None:
    stub.script(Huge(50 * 1024 * 1024, declare_length=declare_length))
    call = call_to(stub.url)
    tracemalloc.start()
    try:
        error = await failure(upstreams.adapter(call.model.provider).complete(call))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind is Failure.BAD_RESPONSE
    assert "limit" in error.message
    assert peak < 10 * MAX_BYTES  # the 50 MB never sat in memory
    # cut off: the client hung up long before the 50 MB were through, it did not drain them
    sent, cut = await cut_off(stub)
    assert cut
    assert sent < 10 * MAX_BYTES


async def test_a_50_mb_stream_is_cut_off(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(Huge(50 * 1024 * 1024))
    call = call_to(stub.url)
    error = await failure(collect(upstreams, call, []))
    assert error.kind is Failure.BAD_RESPONSE
    sent, cut = await cut_off(stub)
    assert cut
    assert sent < 10 * MAX_BYTES


async def test_a_hang_is_bounded_by_the_timeout(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(Hang(30), Hang(30))
    call = call_to(stub.url)
    # the stub answers after 30 s: a TIMEOUT is the call's own bound ending it first
    error = await failure(upstreams.adapter(call.model.provider).complete(call))
    assert error.kind is Failure.TIMEOUT
    error = await failure(collect(upstreams, call_to(stub.url), []))
    assert error.kind is Failure.TIMEOUT


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:1/v1/chat/completions", "http://169.254.169.254/latest/meta-data/"],
)
async def test_a_redirect_is_refused_not_followed(
    upstreams: Upstreams, stub: Stub, location: str
) -> None:
    # a redirect to the stub itself would be followed to a second request if any were
    stub.script(Redirect(location), Redirect(stub.url + "/chat/completions"))
    for _ in range(2):
        call = call_to(stub.url)
        error = await failure(upstreams.adapter(call.model.provider).complete(call))
        assert error.kind is Failure.BAD_RESPONSE
        assert "redirected" in error.message
    assert len(stub.requests) == 2


async def test_internal_base_urls_are_blocked(upstreams: Upstreams) -> None:
    for base in ("http://169.254.169.254/v1", "http://10.0.0.1/v1", "http://[::1]:8000/v1"):
        call = call_to(base)
        error = await failure(upstreams.adapter(call.model.provider).complete(call))
        # refused before any connection is tried: one tried would end as CONNECT or TIMEOUT
        assert error.kind is Failure.BLOCKED
    # a name is checked where it resolves (localhost is not in this allow-list by name)
    call = call_to("http://localhost:1/v1")
    upstreams.transport.allowed = ()
    error = await failure(upstreams.adapter(call.model.provider).complete(call))
    assert error.kind is Failure.BLOCKED


@pytest.mark.parametrize(
    ("behaviour", "kind", "status"),
    [
        (Fail(429, retry_after=7), Failure.RATE_LIMITED, 429),
        (Fail(500), Failure.SERVER, 500),
        (Fail(503), Failure.SERVER, 503),
        (Fail(400, body={"error": {"message": "max_tokens is too large"}}), Failure.REFUSED, 400),
        (Fail(404, body="no such route"), Failure.REFUSED, 404),
    ],
)
async def test_status_mapping(
    upstreams: Upstreams, stub: Stub, behaviour: Fail, kind: Failure, status: int
) -> None:
    stub.script(behaviour, behaviour)
    call = call_to(stub.url)
    error = await failure(upstreams.adapter(call.model.provider).complete(call))
    assert (error.kind, error.status) == (kind, status)
    if status == 429:
        assert error.retry_after == 7.0
    if status == 400:
        assert error.message == "max_tokens is too large"
    streamed = await failure(collect(upstreams, call_to(stub.url), []))
    assert (streamed.kind, streamed.status) == (kind, status)


async def test_stream_cut_before_the_first_token(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(CutBeforeFirstToken())
    seen: list[Any] = []
    error = await failure(collect(upstreams, call_to(stub.url), seen))
    assert error.kind is Failure.SERVER
    # only the role chunk came: no content, so the router may still fall back
    assert [c["choices"][0]["delta"].get("content") for c in seen] == [""]
    assert stub.requests[0].body["stream_options"] == {"include_usage": True}


async def test_stream_cut_after_the_first_token(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(CutAfterFirstToken())
    seen: list[Any] = []
    error = await failure(collect(upstreams, call_to(stub.url), seen))
    assert error.kind is Failure.SERVER
    assert [c["choices"][0]["delta"].get("content") for c in seen] == ["", "say"]


async def test_malformed_stream_data(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(Malformed())
    seen: list[Any] = []
    error = await failure(collect(upstreams, call_to(stub.url), seen))
    assert error.kind is Failure.BAD_RESPONSE
    assert len(seen) == 1


async def test_a_full_stream_with_tool_calls_and_usage(upstreams: Upstreams, stub: Stub) -> None:
    stub.script(Reply("ok then", tool_calls=[{"name": "f", "arguments": {"a": 1}}]))
    seen: list[Any] = []
    await collect(upstreams, call_to(stub.url), seen)
    assert seen[-1]["usage"]["completion_tokens"] == 3
    arguments = "".join(
        tc["function"]["arguments"]
        for c in seen
        if c["choices"]
        for tc in c["choices"][0]["delta"].get("tool_calls") or []
    )
    assert arguments == '{"a":1}'


async def test_the_gateway_keeps_serving_after_every_abuse(gateway: Gateway, stub: Stub) -> None:
    tenant = uuid.uuid4()
    pid = await provider(gateway, tenant, "stub", stub.url)
    await model(gateway, tenant, pid, "abused", upstream="stub-model")
    await alias(gateway, tenant, "default", "abused")
    retries = gateway.settings.retries + 1
    abuses: list[Any] = [
        [Malformed()],
        [Huge(50 * 1024 * 1024)],
        [Redirect("http://169.254.169.254/latest/meta-data/")],
        [Fail(500)] * retries,
        [Fail(429)] * retries,
        [CutBeforeFirstToken()] * retries,
    ]
    body = {"model": "abused", "messages": [{"role": "user", "content": "still there?"}]}
    for script in abuses:
        stub.script(*script)
        bad = await gateway.client.post("/v1/chat/completions", json=body, headers=auth(tenant))
        assert 400 <= bad.status_code < 600, bad.text
        assert bad.status_code != 500, bad.text
        stub.queue.clear()
        good = await gateway.client.post("/v1/chat/completions", json=body, headers=auth(tenant))
        assert good.status_code == 200, (script, good.text)
        assert good.json()["choices"][0]["message"]["content"] == "still there?"
    assert (await gateway.client.get("/readyz")).status_code == 200
    await asyncio.sleep(0)


# --- a stream that ends early, or never ------------------------------------------------------

ROLE = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'  # noqa: E501
TOKEN = b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}\n\n'  # noqa: E501


@contextlib.asynccontextmanager
async def sse_upstream(
    frames: list[bytes], *, gap: float = 0.0, forever: bytes | None = None
) -> AsyncIterator[str]:
    """200 text/event-stream: `frames`, then `forever` every `gap` seconds (if given), then
    a clean end of the body (no [DONE], no reset)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for frame in frames:
            await response.write(frame)
        while forever is not None:
            await asyncio.sleep(gap)
            await response.write(forever)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("frames", "contents"),
    [([], []), ([ROLE], [""]), ([ROLE, TOKEN], ["", "tok"])],
    ids=["empty", "role-only", "after-a-token"],
)
async def test_a_stream_ending_without_done_is_a_server_failure(
    upstreams: Upstreams, frames: list[bytes], contents: list[str]
) -> None:
    seen: list[Any] = []
    async with sse_upstream(frames) as url:
        error = await failure(collect(upstreams, call_to(url), seen))
    assert error.kind is Failure.SERVER
    assert error.message == "stream ended without [DONE]"
    assert [c["choices"][0]["delta"].get("content") for c in seen] == contents


async def test_a_stream_with_done_ends_cleanly(upstreams: Upstreams) -> None:
    seen: list[Any] = []
    async with sse_upstream([ROLE, TOKEN, b"data: [DONE]\n\n"]) as url:
        await collect(upstreams, call_to(url), seen)
    assert len(seen) == 2


async def test_a_trickling_stream_ends_at_its_total_deadline() -> None:
    # a token every 0.1 s, and idle timers far longer than the whole-stream deadline: only
    # that deadline can end it, however slowly the tokens come through on a loaded box
    settings = make_settings(
        "postgresql+asyncpg://unused/unused",
        "unused:9092",
        upstream_idle_timeout=60.0,
        upstream_first_token_timeout=60.0,
        upstream_stream_timeout=1.0,
    )
    pool = Upstreams(settings, Cipher(settings))
    seen: list[Any] = []
    try:
        async with sse_upstream([ROLE], gap=0.1, forever=TOKEN) as url:
            error = await failure(collect(pool, call_to(url), seen))
    finally:
        await pool.aclose()
    assert error.kind is Failure.TIMEOUT
    assert "1 s deadline" in error.message
    assert seen  # the stream had begun: not a first-token timeout


def test_the_stream_deadline_is_at_most_the_reservation_ttl() -> None:
    base = ("postgresql+asyncpg://unused/unused", "unused:9092")
    assert make_settings(*base).upstream_stream_timeout == 600.0
    # left unset, it is lowered to a shorter TTL; set above it, the start fails
    assert make_settings(*base, reservation_ttl=30.0).upstream_stream_timeout == 30.0
    with pytest.raises(ValidationError, match="upstream_stream_timeout"):
        make_settings(*base, reservation_ttl=30.0, upstream_stream_timeout=31.0)


# --- the provider key never comes back in an error ---------------------------------------------

SECRET = "sk-live-abuse-0123456789"


@pytest.mark.parametrize("status", [401, 429, 500, 400])
async def test_an_upstream_quoting_the_key_does_not_hand_it_back(
    upstreams: Upstreams, stub: Stub, status: int
) -> None:
    echo = {"error": {"message": f"Incorrect API key provided: Bearer {SECRET}."}}
    base = call_to(stub.url)
    call = Call(model=base.model, body=base.body, credential=SECRET, timeout=TIMEOUT)
    adapter = upstreams.adapter(call.model.provider)
    embed_call = Call(model=base.model, body={"input": "x"}, credential=SECRET, timeout=TIMEOUT)
    for attempt in (
        adapter.complete(call),
        collect(upstreams, call, []),
        adapter.embed(embed_call),
    ):
        stub.script(Fail(status, body=echo))
        error = await failure(attempt)
        assert error.status == status
        assert SECRET not in str(error)
        assert "Bearer ***." in error.message
        assert error.__cause__ is None
        assert error.__suppress_context__
    assert stub.requests[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_redact() -> None:
    assert redact(f"key {SECRET} and {SECRET}", SECRET) == "key *** and ***"
    assert redact("nothing here", SECRET) == "nothing here"
    assert redact("no key configured", None) == "no key configured"
    assert redact("empty", "") == "empty"
