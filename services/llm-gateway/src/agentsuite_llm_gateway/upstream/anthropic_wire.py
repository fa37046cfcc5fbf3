"""OpenAI chat completions <-> Anthropic Messages, both ways (streams: anthropic_stream). Pure.

A request the Messages API cannot express (invalid tool arguments, an audio part, n > 1)
is refused here with `Failure.REFUSED`, naming the field, rather than sent to fail
upstream with a message the client would not recognise. An answer we cannot read is
`Failure.BAD_RESPONSE`, so the router falls back.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agentsuite_llm_gateway.upstream.base import Call, Failure, Json, UpstreamError

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI clients seldom send it
JSON_INSTRUCTION = "Respond with a single valid JSON object and nothing else."

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def refused(field: str, reason: str) -> UpstreamError:
    return UpstreamError(Failure.REFUSED, f"{field}: {reason}", status=400)


def malformed(reason: str) -> UpstreamError:
    return UpstreamError(Failure.BAD_RESPONSE, f"anthropic: {reason}")


# --- request ------------------------------------------------------------------------------


def to_messages_request(call: Call, *, stream: bool = False) -> Json:  # noqa: C901, PLR0915  one mapping per OpenAI request field onto the Messages API, each refusal naming its field
    """The Messages API body for `call.body`, an OpenAI chat request."""
    body = call.body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise refused("messages", "a non-empty list is required")
    if body.get("n") not in (None, 1):
        raise refused("n", "anthropic answers one choice per request")

    system: list[str] = []
    turns: list[Json] = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise refused(where, "must be an object")
        role = message.get("role")
        if role in ("system", "developer"):
            text = _plain_text(message.get("content"), f"{where}.content")
            if text:
                system.append(text)
        elif role == "user":
            _append(turns, "user", _user_blocks(message.get("content"), f"{where}.content"))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, where))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message, where)])
        else:
            raise refused(f"{where}.role", f"unsupported role {role!r}")
    if not turns:
        raise refused("messages", "at least one user or assistant message is required")
    for turn in turns:
        # Anthropic wants a user turn's tool results before anything else it says
        if turn["role"] == "user":
            turn["content"].sort(key=lambda block: block["type"] != "tool_result")

    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        system.append(JSON_INSTRUCTION)
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        system.append(f"{JSON_INSTRUCTION} It must match this JSON Schema: {json.dumps(schema)}")

    out: Json = {
        "model": call.model.upstream,
        "messages": turns,
        "max_tokens": _max_tokens(body, call.model.max_output),
    }
    if system:
        out["system"] = "\n\n".join(system)
    if stream:
        out["stream"] = True
    if body.get("temperature") is not None:
        # OpenAI's scale runs to 2, Anthropic's to 1: past 1 both mean "as random as it gets"
        out["temperature"] = min(_number(body["temperature"], "temperature"), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = _number(body["top_p"], "top_p")
    stop = body.get("stop")
    if isinstance(stop, str):
        out["stop_sequences"] = [stop]
    elif isinstance(stop, list) and stop:
        out["stop_sequences"] = [str(s) for s in stop]
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    tools = body.get("tools")
    if tools:
        out["tools"] = _tools(tools)
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None and tools:
        out["tool_choice"] = choice
    return out


def _append(turns: list[Json], role: str, blocks: list[Json]) -> None:
    """Add a turn, merging it into the previous one of the same role (Anthropic wants
    strict user/assistant alternation; OpenAI allows runs of either)."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _parts(content: Any, where: str) -> list[Json]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return content
    raise refused(where, "must be a string or a list of content parts")


def _plain_text(content: Any, where: str) -> str:
    texts = []
    for j, part in enumerate(_parts(content, where)):
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise refused(f"{where}[{j}]", "only text parts are allowed here")
        texts.append(part["text"])
    return "".join(texts)


def _user_blocks(content: Any, where: str) -> list[Json]:
    blocks: list[Json] = []
    for j, part in enumerate(_parts(content, where)):
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            if part["text"]:  # Anthropic refuses empty text blocks
                blocks.append({"type": "text", "text": part["text"]})
        elif kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"{where}[{j}].image_url"))
        else:
            raise refused(f"{where}[{j}].type", f"{kind!r} parts are not supported by anthropic")
    return blocks


def _image(image: Any, where: str) -> Json:
    url = image.get("url") if isinstance(image, dict) else image
    if not isinstance(url, str):
        raise refused(f"{where}.url", "a string is required")
    if url.startswith("data:"):
        header, sep, data = url[5:].partition(",")
        media_type, _, encoding = header.partition(";")
        if not sep or encoding != "base64" or not media_type.startswith("image/"):
            raise refused(f"{where}.url", "data URLs must be data:image/<type>;base64,<data>")
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type, "data": data},
        }
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise refused(f"{where}.url", "must be an http(s) or data: URL")


def _assistant_blocks(message: Json, where: str) -> list[Json]:
    blocks: list[Json] = []
    for j, part in enumerate(_parts(message.get("content"), f"{where}.content")):
        text = part.get("text") if part.get("type") == "text" else part.get("refusal")
        if not isinstance(text, str):
            raise refused(f"{where}.content[{j}]", "only text parts are allowed here")
        if text:
            blocks.append({"type": "text", "text": text})
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise refused(f"{where}.tool_calls", "must be a list")
    for k, tool_call in enumerate(calls):
        at = f"{where}.tool_calls[{k}]"
        function = tool_call.get("function") if isinstance(tool_call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise refused(f"{at}.function", "a function with a name is required")
        if not isinstance(tool_call.get("id"), str) or not tool_call["id"]:
            raise refused(f"{at}.id", "required: tool results are matched to it")
        arguments = function.get("arguments") or "{}"
        try:
            decoded = json.loads(arguments) if isinstance(arguments, str) else arguments
        except ValueError:
            raise refused(f"{at}.function.arguments", "not valid JSON") from None
        if not isinstance(decoded, dict):
            raise refused(f"{at}.function.arguments", "must encode a JSON object")
        blocks.append(
            {
                "type": "tool_use",
                "id": tool_call.get("id"),
                "name": function["name"],
                "input": decoded,
            }
        )
    return blocks


def _tool_result(message: Json, where: str) -> Json:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise refused(f"{where}.tool_call_id", "required on tool messages")
    return {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": _plain_text(message.get("content"), f"{where}.content"),
    }


def _tools(tools: Any) -> list[Json]:
    if not isinstance(tools, list):
        raise refused("tools", "must be a list")
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type", "function") != "function":
            raise refused(f"tools[{i}]", "only function tools are supported")
        if not isinstance(function.get("name"), str):
            raise refused(f"tools[{i}].function.name", "required")
        converted: Json = {
            "name": function["name"],
            "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
        }
        if function.get("description"):
            converted["description"] = function["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any, parallel: Any) -> Json | None:
    if choice is None:
        converted: Json | None = {"type": "auto"} if parallel is False else None
    elif choice in ("auto", "none"):
        converted = {"type": choice}
    elif choice == "required":
        converted = {"type": "any"}
    elif isinstance(choice, dict) and isinstance((choice.get("function") or {}).get("name"), str):
        converted = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise refused("tool_choice", "auto, none, required or a named function")
    if converted is not None and parallel is False and converted["type"] != "none":
        converted["disable_parallel_tool_use"] = True
    return converted


def _max_tokens(body: Json, model_max: int | None) -> int:
    for field in ("max_completion_tokens", "max_tokens"):
        value = body.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise refused(field, "must be a positive integer")
        return value
    return model_max or DEFAULT_MAX_TOKENS


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refused(field, "must be a number")
    return float(value)


# --- response -----------------------------------------------------------------------------


def openai_usage(usage: Any) -> Json:
    """Anthropic counts cache reads and writes apart from `input_tokens`; OpenAI counts
    them inside `prompt_tokens`, with the reads repeated as `cached_tokens`."""
    usage = usage if isinstance(usage, dict) else {}
    read = _count(usage.get("cache_read_input_tokens"))
    prompt = _count(usage.get("input_tokens")) + read
    prompt += _count(usage.get("cache_creation_input_tokens"))
    completion = _count(usage.get("output_tokens"))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": read},
    }


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def to_chat_completion(response: Any, *, created: int | None = None) -> Json:
    """The OpenAI `chat.completion` for a Messages API response."""
    if not isinstance(response, dict) or not isinstance(response.get("content"), list):
        raise malformed("response without a content list")
    texts: list[str] = []
    tool_calls: list[Json] = []
    for block in response["content"]:
        if not isinstance(block, dict):
            raise malformed("content block is not an object")
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            tool_calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {
                        "name": block.get("name"),
                        "arguments": json.dumps(block.get("input") or {}),
                    },
                }
            )
        # thinking and other blocks have no place in a chat completion's message
    message: Json = {"role": "assistant", "content": "".join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": response.get("id"),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": response.get("model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH.get(response.get("stop_reason") or "", "stop"),
                "logprobs": None,
            }
        ],
        "usage": openai_usage(response.get("usage")),
    }
