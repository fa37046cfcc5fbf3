"""The built-in local provider: every mode, streaming, embeddings, predictable tokens."""

from __future__ import annotations

import base64
import json
import math
import struct
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError, tokens_of
from agentsuite_llm_gateway.upstream.local import LocalAdapter

ADAPTER = LocalAdapter()


async def drain(chunks: AsyncIterator[Any], into: list[Any] | None = None) -> None:
    async for chunk in chunks:
        if into is not None:
            into.append(chunk)


def call(mode: str, body: dict[str, Any], timeout: float = 5.0, **options: Any) -> Call:
    provider = Provider(uuid.uuid4(), "local", ProviderKind.LOCAL, None, options=options)
    model = Model(uuid.uuid4(), f"local-{mode}", provider, mode, 8192)
    return Call(model=model, body=body, credential=None, timeout=timeout)


def chat(*messages: str, **extra: Any) -> dict[str, Any]:
    roles = ["system", "user", "assistant", "user"] if len(messages) > 1 else ["user"]
    return {
        "model": "x",
        "messages": [{"role": roles[i % 4], "content": m} for i, m in enumerate(messages)],
        **extra,
    }


async def test_echo_answers_the_last_user_message_with_predictable_tokens() -> None:
    body = chat("be brief", "first question", "an answer", "the last question?")
    reply = await ADAPTER.complete(call("echo", body))
    message = reply.body["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "the last question?", "refusal": None}
    assert reply.body["object"] == "chat.completion"
    assert reply.body["choices"][0]["finish_reason"] == "stop"
    # ceil(chars / 4) per message: 8 -> 2, 14 -> 4, 9 -> 3, 18 -> 5; answer 18 -> 5
    assert reply.tokens == Tokens(prompt=14, completion=5)
    assert tokens_of(reply.body["usage"]) == reply.tokens


async def test_echo_reads_text_parts() -> None:
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]}
    reply = await ADAPTER.complete(call("echo", body))
    assert reply.body["choices"][0]["message"]["content"] == "hi there"
    assert reply.tokens == Tokens(prompt=2, completion=2)


async def test_json_mode() -> None:
    reply = await ADAPTER.complete(call("json", chat("x"), json={"ok": True, "n": [1, 2]}))
    content = reply.body["choices"][0]["message"]["content"]
    assert json.loads(content) == {"ok": True, "n": [1, 2]}
    default = await ADAPTER.complete(call("json", chat("x")))
    assert default.body["choices"][0]["message"]["content"] == "{}"


async def test_tools_mode_from_options_and_from_the_request() -> None:
    fixture = [{"name": "search", "arguments": {"q": "llm"}}, {"name": "noop", "arguments": "{}"}]
    reply = await ADAPTER.complete(call("tools", chat("x"), tool_calls=fixture))
    choice = reply.body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = choice["message"]["tool_calls"]
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("search", {"q": "llm"}),
        ("noop", {}),
    ]
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    reply = await ADAPTER.complete(call("tools", chat("x", tools=tools)))
    [only] = reply.body["choices"][0]["message"]["tool_calls"]
    assert only["function"] == {"name": "get_weather", "arguments": "{}"}
    with pytest.raises(UpstreamError) as caught:
        await ADAPTER.complete(call("tools", chat("x")))
    assert caught.value.kind is Failure.REFUSED


async def test_script_mode_first_match_wins_else_echo() -> None:
    script = [
        {"equals": "ping", "reply": "pong"},
        {"match": "weather in", "tool_calls": [{"name": "weather", "arguments": {}}]},
        {"match": "SUMMARIZE", "json": {"summary": "short"}},
        {"match": "hello", "reply": "hi!"},
        {"match": "hello", "reply": "never"},
    ]

    async def content(text: str) -> Any:
        reply = await ADAPTER.complete(call("script", chat(text), script=script))
        return reply.body["choices"][0]["message"]

    assert (await content("say hello"))["content"] == "hi!"
    assert json.loads((await content("Summarize this"))["content"]) == {"summary": "short"}
    assert (await content("weather in Paris"))["tool_calls"][0]["function"]["name"] == "weather"
    assert (await content("ping"))["content"] == "pong"
    assert (await content("Ping"))["content"] == "Ping"  # equals is exact: no match, echo
    assert (await content("unmatched"))["content"] == "unmatched"


async def test_script_match_is_text_not_a_regex() -> None:
    # a tenant's script must not run a regex: `(a+)+$` against a crafted message would
    # stall the event loop for every tenant
    script = [{"match": "(a+)+$", "reply": "literal"}, {"match": ".", "reply": "dot"}]

    async def content(text: str) -> Any:
        reply = await ADAPTER.complete(call("script", chat(text), script=script))
        return reply.body["choices"][0]["message"]["content"]

    assert await content("aaa") == "aaa"  # the regex would match it: the text does not
    assert await content("a" * 40 + "!") == "a" * 40 + "!"
    assert await content("x (A+)+$ y") == "literal"
    assert await content("end.") == "dot"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, Failure.SERVER),
        (503, Failure.SERVER),
        (429, Failure.RATE_LIMITED),
        (400, Failure.REFUSED),
    ],
)
async def test_fail_mode_raises_what_a_provider_would(status: int, kind: Failure) -> None:
    with pytest.raises(UpstreamError) as caught:
        await ADAPTER.complete(call("fail", chat("x"), status=status, retry_after=2))
    assert caught.value.kind is kind
    assert caught.value.status == status
    if status == 429:
        assert caught.value.retry_after == 2.0
    with pytest.raises(UpstreamError):
        await drain(ADAPTER.stream(call("fail", chat("x"), status=status)))


async def test_unknown_mode_is_refused() -> None:
    with pytest.raises(UpstreamError) as caught:
        await ADAPTER.complete(call("gpt-17", chat("x")))
    assert caught.value.kind is Failure.REFUSED
    assert caught.value.status == 404


async def test_delay_past_the_timeout_is_a_timeout() -> None:
    with pytest.raises(UpstreamError) as caught:
        await ADAPTER.complete(call("echo", chat("x"), timeout=0.05, delay=10))
    assert caught.value.kind is Failure.TIMEOUT


async def test_stream_word_chunks_then_finish_then_usage() -> None:
    chunks = [c async for c in ADAPTER.stream(call("echo", chat("sys", "one two three")))]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    words = [c["choices"][0]["delta"].get("content") for c in chunks[1:-2]]
    assert words == ["one", " two", " three"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert tokens_of(chunks[-1]["usage"]) == Tokens(prompt=1 + 4, completion=4)


async def test_stream_tool_calls() -> None:
    fixture = [{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {}}]
    chunks = [c async for c in ADAPTER.stream(call("tools", chat("x"), tool_calls=fixture))]
    deltas = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:3]]
    assert [(d["index"], d["function"]["name"]) for d in deltas] == [(0, "a"), (1, "b")]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_cut_streams_one_word_then_fails() -> None:
    seen: list[Any] = []
    with pytest.raises(UpstreamError) as caught:
        await drain(ADAPTER.stream(call("cut", chat("alpha beta gamma"))), seen)
    assert caught.value.kind is Failure.SERVER
    assert [c["choices"][0]["delta"].get("content") for c in seen] == ["", "alpha"]


async def test_embeddings_are_deterministic_unit_vectors() -> None:
    body = {"model": "e", "input": ["alpha", "beta", "alpha"]}
    reply = await ADAPTER.embed(call("embed", body))
    vectors = [d["embedding"] for d in reply.body["data"]]
    assert [d["index"] for d in reply.body["data"]] == [0, 1, 2]
    assert all(len(v) == 8 for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    again = await ADAPTER.embed(call("embed", body))
    assert again.body["data"][0]["embedding"] == vectors[0]
    assert reply.tokens == Tokens(prompt=2 + 1 + 2)
    assert reply.body["usage"] == {"prompt_tokens": 5, "total_tokens": 5}


async def test_embeddings_dimensions_and_base64() -> None:
    wide = await ADAPTER.embed(call("embed", {"input": "x"}, dimensions=100))
    assert len(wide.body["data"][0]["embedding"]) == 100
    asked = await ADAPTER.embed(call("embed", {"input": "x", "dimensions": 3}))
    floats = asked.body["data"][0]["embedding"]
    packed = await ADAPTER.embed(
        call("embed", {"input": "x", "dimensions": 3, "encoding_format": "base64"})
    )
    decoded = struct.unpack("<3f", base64.b64decode(packed.body["data"][0]["embedding"]))
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(decoded, floats, strict=True))
    tokens = await ADAPTER.embed(call("embed", {"input": [1, 2, 3, 4]}))
    assert tokens.tokens.prompt == 4
    assert len(tokens.body["data"]) == 1
    with pytest.raises(UpstreamError):
        await ADAPTER.embed(call("embed", {"input": "x", "dimensions": 0}))


def test_openai_adapter_sends_the_credential_in_the_named_header() -> None:
    import uuid as _uuid

    from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
    from agentsuite_llm_gateway.upstream.base import Call
    from agentsuite_llm_gateway.upstream.openai import headers

    def call(options: dict[str, object]) -> Call:
        provider = Provider(_uuid.uuid4(), "p", ProviderKind.OPENAI, "https://x", options=options)
        model = Model(_uuid.uuid4(), "m", provider, "m", 1000)
        return Call(model=model, body={}, credential="sk-1", timeout=1.0)

    assert headers(call({})) == {"Authorization": "Bearer sk-1"}
    assert headers(call({"auth_header": "api-key"})) == {"api-key": "sk-1"}
