"""The official `openai` client, pointed at the gateway over real HTTP, works unchanged:
completions, streams, tool calls, embeddings, models, and its error classes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from tests.integration.llm_gateway.e2e_support import llm as client
from tests.integration.llm_gateway.harness import Gateway, token
from tests.integration.llm_gateway.setup import model, provider
from tests.integration.llm_gateway.stub import Reply, Stub, stub_upstream


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    async with stub_upstream() as running:
        yield running


async def test_chat_with_the_default_alias_offline(base_url: str) -> None:
    tenant = uuid.uuid4()
    reply = await client(base_url, tenant).chat.completions.create(
        model="default", messages=[{"role": "user", "content": "hello gateway"}]
    )
    assert reply.choices[0].message.content == "hello gateway"
    assert reply.model == "local-echo"
    assert reply.usage is not None
    assert reply.usage.prompt_tokens > 0


async def test_stream_arrives_in_chunks(base_url: str) -> None:
    tenant = uuid.uuid4()
    stream = await client(base_url, tenant).chat.completions.create(
        model="local-echo",
        messages=[{"role": "user", "content": "one two three four"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    parts: list[str] = []
    usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
    assert "".join(parts).split() == ["one", "two", "three", "four"]
    assert len(parts) > 1
    assert usage is not None
    assert usage.completion_tokens > 0


async def test_tool_calls_pass_through_an_openai_upstream(
    gateway: Gateway, base_url: str, stub: Stub
) -> None:
    tenant = uuid.uuid4()
    pid = await provider(gateway, tenant, "stub", stub.url)
    await model(gateway, tenant, pid, "stub-model", upstream="gpt-x")
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    call = {"name": "get_weather", "arguments": {"city": "Paris"}}
    stub.script(Reply(tool_calls=[call]), Reply(tool_calls=[call]))
    llm = client(base_url, tenant)
    messages: Any = [{"role": "user", "content": "weather in Paris?"}]
    reply = await llm.chat.completions.create(model="stub-model", messages=messages, tools=tools)
    [called] = reply.choices[0].message.tool_calls or []
    assert called.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(called.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    assert stub.requests[0].body["model"] == "gpt-x"
    assert stub.requests[0].body["tools"] == tools

    stream = await llm.chat.completions.create(
        model="stub-model",
        messages=messages,
        tools=tools,
        stream=True,
    )
    arguments = ""
    name = None
    async for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or [] if chunk.choices else []:
            name = name or (delta.function.name if delta.function else None)
            arguments += (delta.function.arguments or "") if delta.function else ""
    assert name == "get_weather"
    assert json.loads(arguments) == {"city": "Paris"}


async def test_embeddings_and_models(base_url: str) -> None:
    tenant = uuid.uuid4()
    llm = client(base_url, tenant)
    vectors = await llm.embeddings.create(model="local-echo", input=["a", "b"])
    assert len(vectors.data) == 2
    assert vectors.data[0].embedding != vectors.data[1].embedding
    listed = [m.id async for m in llm.models.list()]
    assert "local-echo" in listed
    assert "default" in listed


async def test_errors_are_the_clients_own_classes(base_url: str) -> None:
    tenant = uuid.uuid4()
    with pytest.raises(openai.NotFoundError) as missing:
        await client(base_url, tenant).chat.completions.create(
            model="no-such-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert "no-such-model" in missing.value.message
    assert missing.value.code == "model_not_found"

    bad = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="not-a-token", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        await bad.chat.completions.create(
            model="default", messages=[{"role": "user", "content": "hi"}]
        )

    with pytest.raises(openai.BadRequestError) as empty:
        await client(base_url, tenant).chat.completions.create(model="default", messages=[])
    assert empty.value.param == "messages"


async def test_cost_prices_cached_and_reasoning_tokens(
    gateway: Gateway, base_url: str, stub: Stub
) -> None:
    tenant = uuid.uuid4()
    pid = await provider(gateway, tenant, "priced", stub.url)
    r = await gateway.client.post(
        f"/v1/providers/{pid}/models",
        json={
            "name": "priced-model",
            "context_window": 128_000,
            "capabilities": [],
            "tier": "best",
            "price": {"input": "2", "output": "8", "cached_input": "0.5", "reasoning": "10"},
        },
        headers={"Authorization": f"Bearer {token(tenant)}"},
    )
    assert r.status_code == 201, r.text
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 400},
        "completion_tokens_details": {"reasoning_tokens": 200},
    }
    stub.script(Reply("ok", usage=usage))
    raw = await client(base_url, tenant).chat.completions.with_raw_response.create(
        model="priced-model", messages=[{"role": "user", "content": "hi"}]
    )
    body = json.loads(raw.text)
    # 600 input at 2 + 400 cached at 0.5 + 300 output at 8 + 200 reasoning at 10, per million
    expected = (600 * 2 + 400 * 0.5 + 300 * 8 + 200 * 10) / 1_000_000
    assert body["agentsuite"]["cost_micros"] == round(expected * 1_000_000)
    assert raw.headers["x-agentsuite-cost-micros"] == str(round(expected * 1_000_000))
