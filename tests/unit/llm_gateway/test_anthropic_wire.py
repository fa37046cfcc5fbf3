"""OpenAI <-> Anthropic Messages translation, request, response and stream."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from agentsuite_llm_gateway.domain.catalog import Model, Provider, ProviderKind
from agentsuite_llm_gateway.upstream.anthropic_stream import StreamTranslator, sse_data
from agentsuite_llm_gateway.upstream.anthropic_wire import (
    DEFAULT_MAX_TOKENS,
    JSON_INSTRUCTION,
    openai_usage,
    to_chat_completion,
    to_messages_request,
)
from agentsuite_llm_gateway.upstream.base import Call, Failure, UpstreamError, tokens_of

PROVIDER = Provider(uuid.uuid4(), "anthropic", ProviderKind.ANTHROPIC, None)


def call(body: dict[str, Any], max_output: int | None = None) -> Call:
    model = Model(
        uuid.uuid4(), "claude", PROVIDER, "claude-sonnet-4-5", 200_000, max_output=max_output
    )
    return Call(model=model, body=body, credential="k", timeout=5.0)


def req(*messages: dict[str, Any], **body: Any) -> dict[str, Any]:
    return to_messages_request(call({"model": "claude", "messages": list(messages), **body}))


def refusal(body: dict[str, Any]) -> UpstreamError:
    with pytest.raises(UpstreamError) as caught:
        to_messages_request(call(body))
    assert caught.value.kind is Failure.REFUSED
    assert caught.value.status == 400
    return caught.value


USER = {"role": "user", "content": "hi"}


# --- request ------------------------------------------------------------------------------


def test_minimal_request_defaults_max_tokens_and_sends_upstream_name() -> None:
    out = req(USER)
    assert out == {
        "model": "claude-sonnet-4-5",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "max_tokens": DEFAULT_MAX_TOKENS,
    }
    assert to_messages_request(call({"messages": [USER]}), stream=True)["stream"] is True


def test_max_tokens_from_model_then_body() -> None:
    assert to_messages_request(call({"messages": [USER]}, max_output=777))["max_tokens"] == 777
    assert req(USER, max_tokens=50)["max_tokens"] == 50
    assert req(USER, max_tokens=50, max_completion_tokens=60)["max_tokens"] == 60
    err = refusal({"messages": [USER], "max_tokens": 0})
    assert err.message.startswith("max_tokens:")
    assert refusal({"messages": [USER], "max_completion_tokens": "9"}).message.startswith(
        "max_completion_tokens:"
    )


def test_every_system_message_joined_in_order() -> None:
    out = req(
        {"role": "system", "content": "one"},
        USER,
        {"role": "developer", "content": [{"type": "text", "text": "two"}]},
        {"role": "system", "content": "three"},
    )
    assert out["system"] == "one\n\ntwo\n\nthree"
    assert [m["role"] for m in out["messages"]] == ["user"]


def test_consecutive_same_role_turns_merge() -> None:
    out = req(
        {"role": "user", "content": "a"},
        {"role": "user", "content": [{"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "c"},
        {"role": "assistant", "content": "d"},
        {"role": "user", "content": "e"},
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "c"}, {"type": "text", "text": "d"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "e"}]},
    ]


def test_tool_round_trip() -> None:
    out = req(
        USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "t", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "cold"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": "thanks"},
    )
    assistant, results = out["messages"][1], out["messages"][2]
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "call_2", "name": "t", "input": {}},
        ],
    }
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "cold"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "ok"},
            {"type": "text", "text": "thanks"},
        ],
    }
    assert len(out["messages"]) == 3


def test_tool_results_go_first_in_a_merged_user_turn() -> None:
    out = req(
        {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]},
        {"role": "user", "content": "before"},
        {"role": "tool", "tool_call_id": "c", "content": "r"},
    )
    assert [b["type"] for b in out["messages"][1]["content"]] == ["tool_result", "text"]


def test_invalid_tool_arguments_refused_naming_the_field() -> None:
    bad = {
        "role": "assistant",
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{nope"}}],
    }
    err = refusal({"messages": [USER, bad]})
    assert err.message.startswith("messages[1].tool_calls[0].function.arguments:")
    not_object = {**bad, "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "[]"}}]}
    assert "JSON object" in refusal({"messages": [USER, not_object]}).message
    no_id = {**bad, "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}
    assert refusal({"messages": [USER, no_id]}).message.startswith("messages[1].tool_calls[0].id:")
    err = refusal({"messages": [USER, {"role": "tool", "content": "x"}]})
    assert err.message.startswith("messages[1].tool_call_id:")


def test_images_data_and_http() -> None:
    out = req(
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/cat.jpg"}},
            ],
        }
    )
    assert out["messages"][0]["content"][1:] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"},
        },
        {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
    ]
    for url in ("data:text/plain,hello", "ftp://x/y.png", "data:image/png;base64"):
        part = {"type": "image_url", "image_url": {"url": url}}
        err = refusal({"messages": [{"role": "user", "content": [part]}]})
        assert err.message.startswith("messages[0].content[0].image_url.url:")


def test_unsupported_parts_roles_and_n_refused() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "x", "format": "wav"}}
    err = refusal({"messages": [{"role": "user", "content": [audio]}]})
    assert err.message.startswith("messages[0].content[0].type:")
    assert refusal({"messages": [{"role": "robot", "content": "x"}]}).message.startswith(
        "messages[0].role:"
    )
    assert refusal({"messages": [USER], "n": 2}).message.startswith("n:")
    assert refusal({"messages": []}).message.startswith("messages:")
    assert refusal({"messages": [{"role": "system", "content": "x"}]}).message.startswith(
        "messages:"
    )
    assert refusal(
        {"messages": [USER], "tool_choice": "sometimes", "tools": []}
    ).message.startswith("tool_choice:")


def test_empty_text_dropped_so_anthropic_does_not_refuse_it() -> None:
    out = req(USER, {"role": "assistant", "content": ""}, {"role": "user", "content": "again"})
    assert out["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}],
        }
    ]


TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Weather by city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
def test_tools_and_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    out = req(USER, tools=[TOOL], tool_choice=choice)
    assert out["tools"] == [
        {
            "name": "weather",
            "description": "Weather by city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_use() -> None:
    out = req(USER, tools=[TOOL], parallel_tool_calls=False)
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    out = req(USER, tools=[TOOL], tool_choice="required", parallel_tool_calls=False)
    assert out["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    bare = {"type": "function", "function": {"name": "t"}}
    assert req(USER, tools=[bare])["tools"] == [
        {"name": "t", "input_schema": {"type": "object", "properties": {}}}
    ]
    assert "tool_choice" not in req(USER, tool_choice="auto")  # no tools: nothing to choose


def test_sampling_stop_user_and_json_mode() -> None:
    out = req(
        {"role": "system", "content": "be brief"},
        USER,
        temperature=1.5,
        top_p=0.9,
        stop="END",
        user="u-42",
        response_format={"type": "json_object"},
    )
    assert out["temperature"] == 1.0
    assert out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["metadata"] == {"user_id": "u-42"}
    assert out["system"] == f"be brief\n\n{JSON_INSTRUCTION}"
    assert req(USER, stop=["a", "b"], temperature=0.2)["stop_sequences"] == ["a", "b"]
    assert req(USER, temperature=0.2)["temperature"] == 0.2
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    assert json.dumps(schema) in req(USER, response_format=fmt)["system"]
    assert refusal({"messages": [USER], "temperature": "hot"}).message.startswith("temperature:")


# --- response -----------------------------------------------------------------------------


def test_response_text_and_tools_to_chat_completion() -> None:
    response = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "s"},
            {"type": "text", "text": "Let me "},
            {"type": "text", "text": "check."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    out = to_chat_completion(response, created=123)
    assert out == {
        "id": "msg_1",
        "object": "chat.completion",
        "created": 123,
        "model": "claude-sonnet-4-5",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    # the assistant turn it produced translates back into the same tool_use block
    back = req(USER, out["choices"][0]["message"])
    assert back["messages"][1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "weather",
        "input": {"city": "Oslo"},
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_finish_reasons(stop: str | None, finish: str) -> None:
    response: dict[str, Any] = {"id": "m", "model": "c", "content": [], "stop_reason": stop}
    out = to_chat_completion(response)
    assert out["choices"][0]["finish_reason"] == finish
    assert out["choices"][0]["message"]["content"] is None


def test_usage_counts_cache_reads_and_writes_as_prompt() -> None:
    usage = openai_usage(
        {
            "input_tokens": 20,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 300,
            "output_tokens": 7,
        }
    )
    assert usage == {
        "prompt_tokens": 1320,
        "completion_tokens": 7,
        "total_tokens": 1327,
        "prompt_tokens_details": {"cached_tokens": 1000},
    }
    tokens = tokens_of(usage)
    assert tokens is not None
    assert (tokens.prompt, tokens.completion, tokens.cached) == (1320, 7, 1000)
    assert openai_usage(None)["total_tokens"] == 0


@pytest.mark.parametrize("response", [None, [], {"id": "m"}, {"content": ["text"]}])
def test_unreadable_response_is_bad_response(response: Any) -> None:
    with pytest.raises(UpstreamError) as caught:
        to_chat_completion(response)
    assert caught.value.kind is Failure.BAD_RESPONSE


# --- stream -------------------------------------------------------------------------------

START = {
    "type": "message_start",
    "message": {
        "id": "msg_s",
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 1},
    },
}


def run(events: list[dict[str, Any]]) -> tuple[StreamTranslator, list[dict[str, Any]]]:
    translator = StreamTranslator("claude", created=1)
    chunks = [chunk for event in events for chunk in translator.feed(event)]
    return translator, chunks


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in chunks if c["choices"]]


def test_stream_text_and_tool_use_interleaved() -> None:
    events: list[dict[str, Any]] = [
        START,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "He"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "y"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"city":'},
        },
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ' "Oslo"}'},
        },
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "!"}},
        {"type": "content_block_stop", "index": 2},
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "toolu_b", "name": "now", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 3,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
        {"type": "content_block_stop", "index": 3},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 42},
        },
        {"type": "message_stop"},
    ]
    translator, chunks = run(events)
    assert translator.done
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == "msg_s" for c in chunks)
    assert all(c["model"] == "claude-sonnet-4-5" for c in chunks)
    assert deltas(chunks) == [
        {"role": "assistant", "content": ""},
        {"content": "He"},
        {"content": "y"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "toolu_a",
                    "type": "function",
                    "function": {"name": "weather", "arguments": ""},
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": ' "Oslo"}'}}]},
        {"content": "!"},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "toolu_b",
                    "type": "function",
                    "function": {"name": "now", "arguments": ""},
                }
            ]
        },
        # a tool that streamed no arguments still gets parseable ones
        {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]},
        {},
    ]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes == [None] * 9 + ["tool_calls"]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 112,
        "completion_tokens": 42,
        "total_tokens": 154,
        "prompt_tokens_details": {"cached_tokens": 100},
    }


def test_stream_message_delta_may_restate_input_usage() -> None:
    _, chunks = run(
        [
            START,
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens"},
                "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 9},
            },
            {"type": "message_stop"},
        ]
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["prompt_tokens"] == 112
    assert chunks[-1]["usage"]["completion_tokens"] == 9


@pytest.mark.parametrize(
    ("error_type", "failure"),
    [
        ("overloaded_error", Failure.RATE_LIMITED),
        ("rate_limit_error", Failure.RATE_LIMITED),
        ("api_error", Failure.SERVER),
    ],
)
def test_stream_error_event_raises(error_type: str, failure: Failure) -> None:
    translator = StreamTranslator("claude")
    translator.feed(START)
    with pytest.raises(UpstreamError) as caught:
        translator.feed({"type": "error", "error": {"type": error_type, "message": "busy"}})
    assert caught.value.kind is failure
    assert "busy" in caught.value.message
    assert not translator.done


def test_sse_lines() -> None:
    assert sse_data(b"event: ping") is None
    assert sse_data(b"") is None
    assert sse_data(b": comment") is None
    assert sse_data(b'data: {"type": "ping"}\n') == {"type": "ping"}
    assert sse_data(b'{"type": "ping"}') == {"type": "ping"}  # a bare data payload
    for bad in (b"data: {oops", b"data: [1]"):
        with pytest.raises(UpstreamError) as caught:
            sse_data(bad)
        assert caught.value.kind is Failure.BAD_RESPONSE
