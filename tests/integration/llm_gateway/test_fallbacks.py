"""Retries and fallbacks against a flaky upstream: 429, 500, a timeout and a stream cut
before its first token all end on the next model; a stream cut after its first token is
surfaced to the client, never retried (the client already holds half an answer)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.integration.llm_gateway.e2e_support import duo, llm
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.setup import alias, model, provider
from tests.integration.llm_gateway.stub import (
    CutAfterFirstToken,
    CutBeforeFirstToken,
    Fail,
    Hang,
    Stub,
    stub_upstream,
)

HELLO: Any = [{"role": "user", "content": "hello there"}]


@pytest.fixture
async def pair(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub, Stub, str]]:
    """A tenant whose alias `duo` tries provider A's model, then provider B's (and A's id)."""
    async with duo(gateway) as made:
        yield made


@pytest.mark.parametrize("failure", [Fail(429), Fail(500), Fail(503)])
async def test_retryable_failures_retry_then_fall_back(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str], failure: Fail
) -> None:
    tenant, first, second, _ = pair
    tries = gateway.settings.retries + 1
    first.script(*[failure] * tries)
    raw = await llm(base_url, tenant).chat.completions.with_raw_response.create(
        model="duo", messages=HELLO
    )
    reply = raw.parse()
    assert reply.model == "model-b"
    assert len(first.requests) == tries
    assert len(second.requests) == 1
    path = [(a["model"], a["status"]) for a in reply.agentsuite["attempts"]]  # type: ignore[attr-defined]
    assert path[-1] == ("model-b", "ok")
    assert len(path) == tries + 1


async def test_a_retry_that_succeeds_stays_on_the_model(
    base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, second, _ = pair
    first.script(Fail(429))
    reply = await llm(base_url, tenant).chat.completions.create(model="duo", messages=HELLO)
    assert reply.model == "model-a"
    assert len(first.requests) == 2
    assert second.requests == []


async def test_a_hang_times_out_and_falls_back(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, second, _ = pair
    settings = gateway.deps.settings
    old = settings.upstream_timeout, settings.retries
    object.__setattr__(settings, "upstream_timeout", 0.3)
    object.__setattr__(settings, "retries", 0)
    try:
        first.script(Hang(5))
        reply = await llm(base_url, tenant).chat.completions.create(model="duo", messages=HELLO)
    finally:
        object.__setattr__(settings, "upstream_timeout", old[0])
        object.__setattr__(settings, "retries", old[1])
    assert reply.model == "model-b"
    assert len(second.requests) == 1


async def test_a_stream_cut_before_its_first_token_falls_back(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, second, _ = pair
    first.script(*[CutBeforeFirstToken()] * (gateway.settings.retries + 1))
    stream = await llm(base_url, tenant).chat.completions.create(
        model="duo", messages=HELLO, stream=True
    )
    text = ""
    models = set()
    async for chunk in stream:
        models.add(chunk.model)
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text.split() == ["hello", "there"]
    assert models == {"model-b"}
    assert len(second.requests) == 1


async def test_a_stream_cut_after_its_first_token_is_surfaced_not_retried(
    base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, second, _ = pair
    first.script(CutAfterFirstToken())
    stream = await llm(base_url, tenant).chat.completions.create(
        model="duo", messages=HELLO, stream=True
    )
    received: list[str] = []

    async def drain() -> None:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError) as cut:
        await drain()
    assert received  # the first token did arrive
    assert "stream" in str(cut.value.message)
    assert len(first.requests) == 1
    assert second.requests == []


async def test_every_route_failing_is_a_502_with_the_path(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, second, _ = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    second.script(*[Fail(500)] * tries)
    with pytest.raises(openai.APIStatusError) as failed:
        await llm(base_url, tenant).chat.completions.create(model="duo", messages=HELLO)
    assert failed.value.status_code == 502
    assert failed.value.code == "provider_error"


async def test_an_open_breaker_skips_the_provider(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub, str]
) -> None:
    tenant, first, _, a = pair
    breakers = gateway.deps.breakers
    for _ in range(breakers.failures):
        breakers.failure(a)
    try:
        reply = await llm(base_url, tenant).chat.completions.create(model="duo", messages=HELLO)
    finally:
        breakers.success(a)
    assert reply.model == "model-b"
    assert first.requests == []


async def test_a_credential_that_no_longer_decrypts_falls_back(
    gateway: Gateway, base_url: str
) -> None:
    tenant = uuid.uuid4()
    async with stub_upstream() as first, stub_upstream() as second:
        a = await provider(gateway, tenant, "a", first.url, credential="sk-test-a")
        b = await provider(gateway, tenant, "b", second.url)
        await model(gateway, tenant, a, "model-a")
        await model(gateway, tenant, b, "model-b")
        await alias(gateway, tenant, "duo", "model-a", "model-b")
        # a flipped byte: AES-GCM refuses it (as it would a row copied from elsewhere)
        await gateway.owner_sql(
            "UPDATE providers SET credential = overlay(credential placing "
            "decode(lpad(to_hex(get_byte(credential, 20) # 1), 2, '0'), 'hex') from 21 for 1) "
            "WHERE provider_id = :p",
            p=uuid.UUID(a),
        )
        gateway.deps.catalogs.forget(tenant)
        reply = await llm(base_url, tenant).chat.completions.create(model="duo", messages=HELLO)
    assert reply.model == "model-b"
    assert first.requests == []
