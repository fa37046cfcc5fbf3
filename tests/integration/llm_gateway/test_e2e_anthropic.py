"""An Anthropic provider through the whole gateway: the official `openai` client asks in
OpenAI's shape, the gateway speaks the Messages API upstream (with the stored credential as
`x-api-key`), and the answer, streamed or not, text or tool call, comes back in OpenAI's
shape under the gateway's model name, priced with cached reads at the cached price, and
recorded as such."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.integration.llm_gateway.anthropic_stub import (
    API_KEY,
    Stub,
    message,
    running_stub,
    text_events,
)
from tests.integration.llm_gateway.e2e_support import llm, trace_of
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import alias, model, provider
from tests.integration.llm_gateway.stub import stub_upstream

ASK: Any = [
    {"role": "system", "content": "Be terse."},
    {"role": "user", "content": "Weather in Paris?"},
]
TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather now",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
# per million tokens: input 3, cached input 0.3, output 15
PRICE = {"input": "3", "output": "15", "cached_input": "0.3"}


def cost(fresh: int, cached: int, output: int) -> int:
    """Micro-units: one token at a price of P per million costs P micro-units."""
    return round(fresh * 3 + cached * 0.3 + output * 15)


@pytest.fixture
async def claude(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub]]:
    """A tenant with an Anthropic provider (its key stored encrypted) and model `claude-gw`."""
    tenant = uuid.uuid4()
    async with running_stub() as stub:
        pid = await provider(
            gateway, tenant, "anthropic", stub.url, "anthropic", credential=API_KEY
        )
        r = await gateway.client.post(
            f"/v1/providers/{pid}/models",
            json={
                "name": "claude-gw",
                "upstream": "claude-stub-1",
                "context_window": 200_000,
                "max_output": 1024,
                "capabilities": ["tools"],
                "tier": "best",
                "price": PRICE,
            },
            headers=auth(tenant),
        )
        assert r.status_code == 201, r.text
        yield tenant, stub


async def test_a_completion_comes_back_in_openai_shape_priced_with_cached_reads(
    gateway: Gateway, base_url: str, claude: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = claude
    usage = {"input_tokens": 100, "cache_read_input_tokens": 400, "output_tokens": 20}
    stub.reply = message("Sunny.", usage=usage)
    raw = await llm(base_url, tenant).chat.completions.with_raw_response.create(
        model="claude-gw", messages=ASK
    )
    reply = raw.parse()
    assert reply.object == "chat.completion"
    assert reply.model == "claude-gw"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == "Sunny."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (500, 20)
    assert reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == 400
    extension = json.loads(raw.text)["agentsuite"]
    assert extension["cost_micros"] == cost(100, 400, 20)
    assert extension["provider"] == "anthropic"

    # the Messages API upstream: the stored key, the upstream model name, system apart
    [(headers, sent)] = stub.requests
    assert headers["x-api-key"] == API_KEY
    assert sent["model"] == "claude-stub-1"
    assert sent["system"] == "Be terse."
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}
    ]

    trace = await trace_of(gateway, tenant, extension["request_id"])
    assert (trace["model"], trace["provider"], trace["status"]) == ("claude-gw", "anthropic", "ok")
    assert (trace["prompt_tokens"], trace["cached_tokens"], trace["completion_tokens"]) == (
        500,
        400,
        20,
    )
    assert trace["cost_micros"] == cost(100, 400, 20)
    assert trace["stream"] is False


async def test_a_stream_comes_back_as_openai_chunks_with_usage(
    gateway: Gateway, base_url: str, claude: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = claude
    start = {"input_tokens": 30, "cache_read_input_tokens": 1000, "output_tokens": 1}
    stub.events = text_events("Sun", "ny", " and", " warm.", usage=start)
    request_id = str(uuid.uuid4())
    stream = await llm(base_url, tenant).chat.completions.create(
        model="claude-gw",
        messages=ASK,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Request-Id": request_id},
    )
    parts: list[str] = []
    models = set()
    finish = None
    usage = None
    extension: Any = None
    async for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        models.add(chunk.model)
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage is not None:
            usage = chunk.usage
            extension = (chunk.model_extra or {}).get("agentsuite")
    assert "".join(parts) == "Sunny and warm."
    assert models == {"claude-gw"}
    assert finish == "stop"
    assert usage is not None
    # message_delta's output_tokens (4 events) is the final count, not message_start's 1
    assert (usage.prompt_tokens, usage.completion_tokens) == (1030, 4)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 1000
    assert extension is not None
    assert extension["cost_micros"] == cost(30, 1000, 4)
    assert stub.requests[0][1]["stream"] is True

    trace = await trace_of(gateway, tenant, request_id)
    assert trace["stream"] is True
    assert trace["status"] == "ok"
    assert trace["cost_micros"] == cost(30, 1000, 4)
    assert trace["cached_tokens"] == 1000
    assert trace["ttft_ms"] is not None


def tool_events(arguments: str) -> list[dict[str, Any]]:
    head = message(content=[], usage={"input_tokens": 50, "output_tokens": 1})
    pieces = [arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]]
    return [
        {"type": "message_start", "message": {**head, "stop_reason": None}},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_7",
                "name": "get_weather",
                "input": {},
            },
        },
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p},
            }
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 12},
        },
        {"type": "message_stop"},
    ]


async def test_tool_calls_both_ways(
    gateway: Gateway, base_url: str, claude: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = claude
    client = llm(base_url, tenant)
    stub.reply = message(
        stop_reason="tool_use",
        content=[
            {"type": "tool_use", "id": "toolu_3", "name": "get_weather", "input": {"city": "Paris"}}
        ],
        usage={"input_tokens": 50, "output_tokens": 12},
    )
    reply = await client.chat.completions.create(model="claude-gw", messages=ASK, tools=TOOLS)
    assert reply.model == "claude-gw"
    assert reply.choices[0].finish_reason == "tool_calls"
    [called] = reply.choices[0].message.tool_calls or []
    assert called.id == "toolu_3"
    assert called.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(called.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    # the OpenAI tool became an Anthropic tool
    [tool] = stub.requests[0][1]["tools"]
    assert tool["name"] == "get_weather"
    assert tool["input_schema"] == TOOLS[0]["function"]["parameters"]

    stub.events = tool_events('{"city": "Lyon"}')
    stream = await client.chat.completions.create(
        model="claude-gw", messages=ASK, tools=TOOLS, stream=True
    )
    name = None
    call_id = None
    arguments = ""
    finish = None
    async for chunk in stream:
        assert chunk.model == "claude-gw"
        if not chunk.choices:
            continue
        finish = chunk.choices[0].finish_reason or finish
        for delta in chunk.choices[0].delta.tool_calls or []:
            call_id = call_id or delta.id
            if delta.function is not None:
                name = name or delta.function.name
                arguments += delta.function.arguments or ""
    assert (call_id, name) == ("toolu_7", "get_weather")
    assert json.loads(arguments) == {"city": "Lyon"}
    assert finish == "tool_calls"

    # the answer to the tool goes back as an Anthropic tool_result
    follow: Any = [
        *ASK,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "toolu_3",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_3", "content": "18C, clear"},
    ]
    stub.reply = message("18C and clear.")
    answer = await client.chat.completions.create(model="claude-gw", messages=follow, tools=TOOLS)
    assert answer.choices[0].message.content == "18C and clear."
    sent = stub.requests[-1][1]["messages"]
    assert sent[-2]["content"][0]["type"] == "tool_use"
    assert sent[-1]["role"] == "user"
    assert sent[-1]["content"][0]["type"] == "tool_result"
    assert sent[-1]["content"][0]["tool_use_id"] == "toolu_3"


async def test_a_key_the_provider_rejects_falls_back_and_is_never_the_callers_401(
    gateway: Gateway, base_url: str
) -> None:
    """The caller's token is fine; the operator's stored provider key is not. That is the
    provider failing (like a credential that no longer decrypts): the next model answers,
    and with none left the caller gets a 502, never a 401 that its client reads as "your
    API key is wrong"."""
    tenant = uuid.uuid4()
    async with running_stub() as bad, running_stub() as good:
        a = await provider(gateway, tenant, "a", bad.url, "anthropic", credential="sk-revoked")
        b = await provider(gateway, tenant, "b", good.url, "anthropic", credential=API_KEY)
        for pid, name in ((a, "claude-a"), (b, "claude-b")):
            await model(
                gateway, tenant, pid, name, upstream="claude-stub-1", context_window=200_000
            )
        await alias(gateway, tenant, "claudes", "claude-a", "claude-b")
        client = llm(base_url, tenant)
        reply = await client.chat.completions.create(model="claudes", messages=ASK)
        assert reply.model == "claude-b"
        assert bad.requests[0][0]["x-api-key"] == "sk-revoked"
        with pytest.raises(openai.APIStatusError) as failed:
            await client.chat.completions.create(model="claude-a", messages=ASK)
    assert failed.value.status_code == 502
    assert failed.value.code == "provider_error"


async def test_an_overloaded_anthropic_falls_back_to_an_openai_upstream_mid_alias(
    gateway: Gateway, base_url: str, claude: tuple[uuid.UUID, Stub]
) -> None:
    """529 (Anthropic's "overloaded") is a server failure: retried, then the alias's next
    model, on another kind of provider, answers the stream; the trace has the whole path."""
    tenant, stub = claude
    stub.status = 529
    async with stub_upstream() as other:
        pid = await provider(gateway, tenant, "openai-ish", other.url)
        await model(gateway, tenant, pid, "gpt-gw", upstream="gpt-x")
        await alias(gateway, tenant, "mixed", "claude-gw", "gpt-gw")
        request_id = str(uuid.uuid4())
        stream = await llm(base_url, tenant).chat.completions.create(
            model="mixed", messages=ASK, stream=True, extra_headers={"X-Request-Id": request_id}
        )
        text = ""
        models = set()
        async for chunk in stream:
            models.add(chunk.model)
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
        assert text == "Weather in Paris?"  # the OpenAI stub echoes
        assert models == {"gpt-gw"}
    tries = gateway.settings.retries + 1
    assert len(stub.requests) == tries
    trace = await trace_of(gateway, tenant, request_id)
    path = [(a["model"], a["status"]) for a in trace["attempts"]]
    assert path == [("claude-gw", "server")] * tries + [("gpt-gw", "ok")]
    assert (trace["requested"], trace["model"], trace["status"]) == ("mixed", "gpt-gw", "ok")
