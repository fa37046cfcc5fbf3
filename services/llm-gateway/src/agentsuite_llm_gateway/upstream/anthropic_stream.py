"""Anthropic's Messages stream, read as OpenAI `chat.completion.chunk`s. Pure.

An `error` event mid-stream is the provider failing (overloaded: as a rate limit, so the
router backs off); a stream that ends before `message_stop` was cut short.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agentsuite_llm_gateway.upstream.anthropic_wire import FINISH, malformed, openai_usage
from agentsuite_llm_gateway.upstream.base import Failure, Json, UpstreamError


class StreamTranslator:
    """Anthropic stream events in, OpenAI `chat.completion.chunk`s out.

    Tool-use blocks become `tool_calls` deltas numbered in the order they open (Anthropic's
    block index counts text blocks too, OpenAI's tool index does not)."""

    def __init__(self, model: str, *, created: int | None = None) -> None:
        self.id = ""
        self.model = model
        self.created = int(time.time()) if created is None else created
        self.usage: Json = {}
        self.finish_reason = "stop"
        self.done = False
        self._tools: dict[int, int] = {}  # Anthropic block index -> OpenAI tool index
        self._argued: set[int] = set()  # tool indexes that have sent argument text

    def feed(self, event: Any) -> list[Json]:  # noqa: C901  one branch per Anthropic stream event type
        """The chunks one event makes (often none)."""
        if not isinstance(event, dict):
            raise malformed("stream event is not an object")
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = str(message.get("id") or "")
            self.model = str(message.get("model") or self.model)
            self.usage = dict(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "content_block_stop":
            tool = self._tools.get(event.get("index", -1))
            if tool is not None and tool not in self._argued:
                # no fragments at all: say `{}` so the client parses arguments it can use
                self._argued.add(tool)
                return [self._chunk({"tool_calls": [_arguments(tool, "{}")]})]
            return []
        if kind == "message_delta":
            delta = event.get("delta") or {}
            if delta.get("stop_reason"):
                self.finish_reason = FINISH.get(delta["stop_reason"], "stop")
            # message_delta's usage is cumulative and may repeat the input counts
            self.usage.update(
                {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            )
            return []
        if kind == "message_stop":
            self.done = True
            final = self._chunk({}, finish_reason=self.finish_reason)
            tail = {**self._chunk({}), "choices": [], "usage": openai_usage(self.usage)}
            return [final, tail]
        if kind == "error":
            error = event.get("error") or {}
            kind_of = error.get("type")
            failure = (
                Failure.RATE_LIMITED
                if kind_of in ("overloaded_error", "rate_limit_error")
                else Failure.SERVER
            )
            raise UpstreamError(failure, f"anthropic {kind_of}: {error.get('message')}")
        return []  # ping, and event types newer than this code

    def _block_start(self, event: Json) -> list[Json]:
        block = event.get("content_block") or {}
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        if block.get("type") != "tool_use":
            return []
        tool = len(self._tools)
        self._tools[event.get("index", -1)] = tool
        opened: Json = {
            "index": tool,
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": ""},
        }
        if block.get("input"):
            opened["function"]["arguments"] = json.dumps(block["input"])
            self._argued.add(tool)
        return [self._chunk({"tool_calls": [opened]})]

    def _block_delta(self, event: Json) -> list[Json]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            tool = self._tools.get(event.get("index", -1))
            if tool is None:
                raise malformed("input_json_delta outside a tool_use block")
            self._argued.add(tool)
            return [self._chunk({"tool_calls": [_arguments(tool, delta["partial_json"])]})]
        return []  # thinking, signatures, citations: nothing a chat completion carries

    def _chunk(self, delta: Json, finish_reason: str | None = None) -> Json:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            ],
        }


def _arguments(tool: int, fragment: str) -> Json:
    return {"index": tool, "function": {"arguments": fragment}}


def sse_data(line: bytes) -> Json | None:
    """The event in one SSE `data:` payload (as Transport.stream_lines yields them) or raw
    SSE line; None for `event:`, comment and blank lines, which carry nothing we need:
    every Anthropic payload names its own `type`."""
    line = line.strip()
    if line.startswith(b"data:"):
        line = line[5:]
    elif not line or line.startswith((b"event:", b":", b"id:", b"retry:")):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        raise malformed("stream data is not JSON") from None
    if not isinstance(event, dict):
        raise malformed("stream event is not an object")
    return event
