"""Adversarial review (H11): hostile clients and upstreams at the OpenAI edge. Bad input is
a 4xx in OpenAI's error shape, never a 500; a request body is refused before it is all
read; a stream that ends without `[DONE]` is not passed off as a complete answer."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from agentsuite_llm_gateway.crypto import Cipher
from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError
from agentsuite_llm_gateway.upstream.pool import Upstreams
from tests.integration.llm_gateway.harness import Gateway, auth, make_settings
from tests.integration.llm_gateway.setup import alias, model, provider

INVOKE = ["llm:invoke"]
MESSAGES = [{"role": "user", "content": "hello there"}]
ROLE = b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'  # noqa: E501
TOKEN = b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"content":"Half an ans"},"finish_reason":null}]}\n\n'  # noqa: E501


@contextlib.asynccontextmanager
async def raw_upstream(
    script: list[bytes], *, gap: float = 0.0, forever: bytes | None = None
) -> AsyncIterator[str]:
    """An HTTP/1.1 server that answers every POST with 200 text/event-stream, `Connection:
    close` and no length, writes `script` (then `forever` every `gap` seconds, if given)
    and closes the connection cleanly: an EOF, not a reset."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            )
            for part in script:
                writer.write(part)
                await writer.drain()
            while forever is not None:
                await asyncio.sleep(gap)
                writer.write(forever)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()


def events(text: str) -> list[str]:
    return [line[6:] for line in text.splitlines() if line.startswith("data: ")]


# --- request bodies --------------------------------------------------------------------------


async def test_a_body_without_a_length_is_refused_before_it_is_all_read(gateway: Gateway) -> None:
    """A chunked upload has no Content-Length to check up front: the edge reads the whole
    thing into memory (20 MB here; any size) and only then says 413."""
    limit = gateway.settings.max_request_bytes
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(320):  # 20 MiB
            pulled += 65_536
            yield b" " * 65_536

    r = await gateway.client.post(
        "/v1/chat/completions", content=body(), headers=auth(uuid.uuid4(), INVOKE)
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert pulled <= limit + 1024 * 1024, f"read {pulled} bytes for a {limit} byte limit"


@pytest.mark.parametrize(
    ("name", "body", "headers"),
    [
        ("deep JSON", b'{"messages": ' + b"[" * 5000 + b"]" * 5000 + b"}", {}),
        ("tools not a list", {"messages": MESSAGES, "tools": 5}, {}),
        ("tools true", {"messages": MESSAGES, "tools": True}, {}),
        ("cache_ttl a list", {"messages": MESSAGES, "agentsuite": {"cache_ttl": [1]}}, {}),
        ("cache_ttl an object", {"messages": MESSAGES, "agentsuite": {"cache_ttl": {}}}, {}),
        ("max_cost overflow", {"messages": MESSAGES}, {"X-Agentsuite-Max-Cost": "1e999999"}),
        ("model an object", {"model": {"a": 1}, "messages": MESSAGES}, {}),
        ("prompt a list", {"prompt": [1]}, {}),
    ],
)
async def test_odd_chat_input_is_a_400_in_openai_shape(
    gateway: Gateway, name: str, body: Any, headers: dict[str, str]
) -> None:
    tenant = uuid.uuid4()
    all_headers = {**auth(tenant, INVOKE), **headers}
    if isinstance(body, bytes):
        all_headers["Content-Type"] = "application/json"
        r = await gateway.client.post("/v1/chat/completions", content=body, headers=all_headers)
    else:
        r = await gateway.client.post("/v1/chat/completions", json=body, headers=all_headers)
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text)
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error", (name, error)
    assert error["message"]


# --- upstream streams that end badly ----------------------------------------------------------


async def test_a_stream_ending_without_done_after_a_token_is_reported_cut(
    gateway: Gateway,
) -> None:
    """The upstream closes the connection cleanly after half an answer: no `[DONE]`, no
    finish_reason. The client must learn the answer is incomplete (an error event, as for
    a reset), and the trace must say error."""
    tenant = uuid.uuid4()
    async with raw_upstream([ROLE, TOKEN]) as url:
        pid = await provider(gateway, tenant, "eof", url)
        await model(gateway, tenant, pid, "m")
        request_id = str(uuid.uuid4())
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": MESSAGES, "stream": True},
            headers={**auth(tenant, INVOKE), "X-Request-Id": request_id},
        )
    assert r.status_code == 200
    data = events(r.text)
    assert "Half an ans" in r.text
    assert data[-1] != "[DONE]", data
    assert '"error"' in data[-1]
    await gateway.deps.recorder.flush()
    rows = await gateway.owner_sql(
        "SELECT status FROM calls WHERE request_id = :r", r=uuid.UUID(request_id)
    )
    assert [row[0] for row in rows] == ["error"]


@pytest.mark.parametrize("script", [[ROLE], []], ids=["role-only", "empty"])
async def test_a_stream_ending_before_its_first_token_falls_back(
    gateway: Gateway, script: list[bytes]
) -> None:
    """A 200 whose stream closes before any token (only the role chunk, or nothing) is a
    failure before the first token: the next model must answer, not an empty success."""
    tenant = uuid.uuid4()
    async with raw_upstream(script) as url:
        pid = await provider(gateway, tenant, "eof", url)
        await model(gateway, tenant, pid, "m")
        await alias(gateway, tenant, "pair", "m", "local-echo")
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "pair", "messages": MESSAGES, "stream": True},
            headers=auth(tenant, INVOKE),
        )
    assert r.status_code == 200, r.text
    assert '"model":"local-echo"' in r.text, events(r.text)
    chunks = [orjson.loads(e) for e in events(r.text) if e != "[DONE]"]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "hello there"


async def test_a_trickling_endless_stream_ends_before_its_reservation_does() -> None:
    """A token every 0.2 s keeps the idle timer happy and stays far under the byte limit:
    nothing bounds the stream's length. Past `reservation_ttl` the expiry job charges the
    full estimate and the real settlement is skipped, and the connection is held for as
    long as the upstream likes. A stream needs a total deadline (at most the TTL)."""
    settings = make_settings(
        "postgresql+asyncpg://unused/unused",
        "unused:9092",
        upstream_first_token_timeout=1.0,
        upstream_idle_timeout=1.0,
        upstream_timeout=1.0,
        reservation_ttl=2.0,
    )
    pool = Upstreams(settings, Cipher(settings))
    got = 0
    try:
        async with raw_upstream([ROLE, TOKEN], gap=0.2, forever=TOKEN) as url:
            upstream = Provider(uuid.uuid4(), "p", ProviderKind.OPENAI, url)
            target = Model(uuid.uuid4(), "m", upstream, "x", 8192)
            call = Call(
                model=target,
                body={"model": "m", "messages": MESSAGES},
                credential=None,
                timeout=1.0,
            )

            async def drain() -> None:
                nonlocal got
                async for _ in pool.adapter(upstream).stream(call):
                    got += 1

            # the stream's own deadline must end it; this guard only turns a stream that
            # never ends into a failure (TimeoutError is no UpstreamError) instead of a hang
            with pytest.raises(UpstreamError) as caught:
                await asyncio.wait_for(drain(), 60)
    finally:
        await pool.aclose()
    assert caught.value.kind is Failure.TIMEOUT
    # the deadline is the reservation's TTL (the stream timeout left unset is lowered to it)
    assert f"its {settings.reservation_ttl:g} s deadline" in caught.value.message
    assert got >= 1  # it had been streaming: the idle and first-token timers did not end it


# --- the OpenAI error shape -----------------------------------------------------------------


async def test_every_error_of_the_openai_routes_has_the_openai_shape(gateway: Gateway) -> None:
    """Guard (holds today): 401/403/404/413/429/502 and 402 on the three routes carry
    `error.{message,type,code}` with the status's OpenAI type (504: the unit test)."""
    tenant = uuid.uuid4()
    pid = await provider(gateway, tenant, "failing", None, kind="local", options={"status": 500})
    await model(gateway, tenant, pid, "boom", upstream="fail")
    limited = await provider(
        gateway, tenant, "limited", None, kind="local", options={"status": 429}
    )
    await model(gateway, tenant, limited, "busy", upstream="fail")
    poor = uuid.uuid4()
    await gateway.client.post(
        "/v1/budgets",
        json={"scope": "tenant", "period": "day", "limit_tokens": 1, "on_exhaust": "reject"},
        headers=auth(poor),
    )
    chat = {"messages": MESSAGES}
    cases: list[tuple[str, str, Any, dict[str, str], int, str]] = [
        ("post", "/v1/chat/completions", chat, {}, 401, "authentication_error"),
        ("get", "/v1/models", None, {}, 401, "authentication_error"),
        ("post", "/v1/embeddings", {"input": "x"}, auth(tenant, []), 403, "permission_error"),
        ("post", "/v1/chat/completions", {**chat, "model": "nope"}, auth(tenant, INVOKE), 404,
         "invalid_request_error"),
        ("post", "/v1/chat/completions", {**chat, "model": "boom"}, auth(tenant, INVOKE), 502,
         "api_error"),
        ("post", "/v1/chat/completions", {**chat, "model": "busy"}, auth(tenant, INVOKE), 429,
         "rate_limit_error"),
        ("post", "/v1/chat/completions", {**chat, "model": "local-echo"}, auth(poor, INVOKE),
         402, "insufficient_quota"),
        ("post", "/v1/chat/completions", {**chat, "stream": True, "model": "boom"},
         auth(tenant, INVOKE), 502, "api_error"),
    ]  # fmt: skip
    for method, path, body, headers, status, kind in cases:
        r = await gateway.client.request(method, path, json=body, headers=headers)
        assert r.status_code == status, (path, body, r.text)
        error = r.json()["error"]
        assert error["type"] == kind, (path, status, error)
        assert error["message"], (path, status, error)
    big = {**auth(tenant, INVOKE), "Content-Type": "application/json"}
    big["Content-Length"] = str(gateway.settings.max_request_bytes + 1)
    r = await gateway.client.post(
        "/v1/chat/completions", content=b"{" + b" " * gateway.settings.max_request_bytes + b"}",
        headers=big,
    )  # fmt: skip
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "invalid_request_error"


async def test_a_tenants_local_script_regex_cannot_stall_every_tenant(gateway: Gateway) -> None:
    """The local provider runs a tenant's `script` regexes with `re` on the event loop: a
    catastrophic pattern plus a crafted message freezes the process for every tenant
    (here ~2 s; one more `a` doubles it)."""
    tenant = uuid.uuid4()
    script = [{"match": "(a+)+$", "reply": "never"}]
    pid = await provider(
        gateway, tenant, "scripted", None, kind="local", options={"script": script}
    )
    await model(gateway, tenant, pid, "redos", upstream="script")

    async def reply(text: str) -> str:
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "redos", "messages": [{"role": "user", "content": text}]},
            headers=auth(tenant, INVOKE),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["choices"][0]["message"]["content"])

    # never run as a regex (so no message can make it backtrack): one the regex would match
    # gets no scripted reply, one holding the pattern as text does
    assert await reply("aaa") == "aaa"
    assert await reply("about (a+)+$ here") == "never"
    assert await reply("a" * 23 + "!") == "a" * 23 + "!"
