"""AnthropicAdapter through the real transport (pool, SSRF guard, timeouts) against a stub
of the Messages API on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.upstream.anthropic import AnthropicAdapter, messages_url
from agentsuite_llm_gateway.upstream.base import Call, Failure, Json, UpstreamError
from agentsuite_llm_gateway.upstream.transport import Transport
from tests.integration.llm_gateway.anthropic_stub import (
    API_KEY,
    Stub,
    message,
    running_stub,
    text_events,
)
from tests.integration.llm_gateway.harness import make_settings


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    async with running_stub() as started:
        yield started


@pytest.fixture
async def adapter() -> AsyncIterator[AnthropicAdapter]:
    # no database or broker is reached: the transport only needs the upstream settings
    settings = make_settings("postgresql+asyncpg://unused/unused", "127.0.0.1:1")
    transport = Transport(settings)
    yield AnthropicAdapter(transport)
    await transport.aclose()


def make_call(
    stub: Stub,
    body: dict[str, Any] | None = None,
    *,
    credential: str | None = API_KEY,
    base_url: str | None = None,
    **options: Any,
) -> Call:
    provider = Provider(
        uuid.uuid4(),
        "anthropic",
        ProviderKind.ANTHROPIC,
        base_url or stub.url,
        options=options,
    )
    model = Model(uuid.uuid4(), "claude", provider, "claude-stub-1", 200_000, max_output=1024)
    body = body or {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}
    return Call(model=model, body=body, credential=credential, timeout=5.0)


async def collect(
    adapter: AnthropicAdapter, call: Call, into: list[Json] | None = None
) -> list[Json]:
    seen = [] if into is None else into
    async for chunk in adapter.stream(call):
        seen.append(chunk)
    return seen


async def test_complete_translates_both_ways(stub: Stub, adapter: AnthropicAdapter) -> None:
    stub.reply = message(
        "Sunny.", usage={"input_tokens": 5, "cache_read_input_tokens": 40, "output_tokens": 2}
    )
    body = {
        "model": "claude",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Weather?"},
        ],
        "stop": "\n\n",
    }
    reply = await adapter.complete(make_call(stub, body))
    assert reply.body["object"] == "chat.completion"
    assert reply.body["choices"][0]["message"] == {"role": "assistant", "content": "Sunny."}
    assert reply.body["choices"][0]["finish_reason"] == "stop"
    assert (reply.tokens.prompt, reply.tokens.completion, reply.tokens.cached) == (45, 2, 40)

    [(headers, sent)] = stub.requests
    assert headers["x-api-key"] == API_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert sent == {
        "model": "claude-stub-1",
        "system": "Be terse.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather?"}]}],
        "max_tokens": 1024,
        "stop_sequences": ["\n\n"],
    }


async def test_tool_use_answer_becomes_tool_calls(stub: Stub, adapter: AnthropicAdapter) -> None:
    stub.reply = message(
        stop_reason="tool_use",
        content=[{"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {"q": "x"}}],
    )
    reply = await adapter.complete(make_call(stub))
    choice = reply.body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    assert choice["message"]["tool_calls"] == [
        {
            "id": "toolu_9",
            "type": "function",
            "function": {"name": "lookup", "arguments": '{"q": "x"}'},
        }
    ]


async def test_version_and_beta_from_provider_options(
    stub: Stub, adapter: AnthropicAdapter
) -> None:
    stub.version = "2099-01-01"
    call = make_call(stub, version="2099-01-01", beta=["a-1", "b-2"])
    await adapter.complete(call)
    headers = stub.requests[-1][0]
    assert headers["anthropic-version"] == "2099-01-01"
    assert headers["anthropic-beta"] == "a-1,b-2"
    # the stub, like Anthropic, refuses a version it does not know
    with pytest.raises(UpstreamError) as caught:
        await adapter.complete(make_call(stub))
    assert caught.value.kind is Failure.REFUSED
    assert "anthropic-version" in caught.value.message


async def test_base_url_ending_in_v1_is_not_doubled(stub: Stub, adapter: AnthropicAdapter) -> None:
    call = make_call(stub, base_url=f"{stub.url}/v1/")
    assert messages_url(call.model.provider) == f"{stub.url}/v1/messages"
    assert (await adapter.complete(call)).body["choices"][0]["message"]["content"] == "Hello!"


async def test_wrong_key_is_the_providers_refusal_with_anthropics_message(
    stub: Stub, adapter: AnthropicAdapter
) -> None:
    with pytest.raises(UpstreamError) as caught:
        await adapter.complete(make_call(stub, credential="sk-wrong"))
    # AUTH, not REFUSED: the gateway's stored key was refused, so the router falls back
    assert caught.value.kind is Failure.AUTH
    assert caught.value.status == 401
    assert caught.value.message.endswith("invalid x-api-key")


async def test_overloaded_status_is_retryable(stub: Stub, adapter: AnthropicAdapter) -> None:
    stub.status = 529
    with pytest.raises(UpstreamError) as caught:
        await adapter.complete(make_call(stub))
    assert caught.value.retryable
    with pytest.raises(UpstreamError) as caught:
        await collect(adapter, make_call(stub))
    assert caught.value.retryable


async def test_stream_text(stub: Stub, adapter: AnthropicAdapter) -> None:
    stub.events = text_events("Hel", "lo", " there")
    chunks = await collect(adapter, make_call(stub))
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content", "") for d in deltas) == "Hello there"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert chunks[-1]["usage"]["prompt_tokens"] == 9
    headers, sent = stub.requests[-1]
    assert sent["stream"] is True
    assert headers["x-api-key"] == API_KEY


async def test_stream_tool_use(stub: Stub, adapter: AnthropicAdapter) -> None:
    start, *_ = text_events()
    stub.events = [
        start,
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": part},
            }
            for part in ('{"a"', ": 1}")
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
    ]
    chunks = await collect(adapter, make_call(stub))
    calls = [
        call
        for c in chunks
        if c["choices"]
        for call in c["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert calls[0]["id"] == "toolu_1"
    assert calls[0]["function"]["name"] == "f"
    assert "".join(call["function"]["arguments"] for call in calls) == '{"a": 1}'
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_stream_error_event_mid_stream(stub: Stub, adapter: AnthropicAdapter) -> None:
    events = text_events("partial")
    stub.events = [
        *events[:4],
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]
    seen: list[Json] = []
    with pytest.raises(UpstreamError) as caught:
        await collect(adapter, make_call(stub), seen)
    assert caught.value.kind is Failure.RATE_LIMITED
    assert [c["choices"][0]["delta"].get("content") for c in seen] == ["", "partial"]


async def test_stream_cut_short_is_a_server_failure(stub: Stub, adapter: AnthropicAdapter) -> None:
    stub.events = text_events("a", "b")[:-2]  # no message_delta, no message_stop
    with pytest.raises(UpstreamError) as caught:
        await collect(adapter, make_call(stub))
    assert caught.value.kind is Failure.SERVER


async def test_invalid_request_refused_before_sending(
    stub: Stub, adapter: AnthropicAdapter
) -> None:
    bad = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{"}}],
            },
        ]
    }
    with pytest.raises(UpstreamError) as caught:
        await adapter.complete(make_call(stub, bad))
    assert caught.value.kind is Failure.REFUSED
    assert stub.requests == []


async def test_embeddings_refused(stub: Stub, adapter: AnthropicAdapter) -> None:
    with pytest.raises(UpstreamError) as caught:
        await adapter.embed(make_call(stub, {"model": "claude", "input": "x"}))
    assert caught.value.kind is Failure.REFUSED
    assert stub.requests == []


async def test_an_error_event_quoting_the_key_does_not_carry_it(
    stub: Stub, adapter: AnthropicAdapter
) -> None:
    events = text_events("partial")
    stub.events = [
        *events[:4],
        {"type": "error", "error": {"type": "api_error", "message": f"bad key {API_KEY}!"}},
    ]
    with pytest.raises(UpstreamError) as caught:
        await collect(adapter, make_call(stub))
    assert API_KEY not in str(caught.value)
    assert caught.value.message == "anthropic api_error: bad key ***!"
    assert caught.value.__cause__ is None
