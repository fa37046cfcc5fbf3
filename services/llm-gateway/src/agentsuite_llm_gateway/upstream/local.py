"""The built-in `local` provider: deterministic, offline, scriptable, so every service's
tests and `make up` run without a network or a key.

The model's `upstream` name picks the behaviour, the provider's `options` configure it:
- `echo`: answers the last user message's text.
- `json`: answers `json.dumps(options["json"])` (default `{}`).
- `tools`: answers with tool calls: `options["tool_calls"]` ([{name, arguments}]) or else
  the request's first tool, called with `{}`.
- `script`: `options["script"]` is a list of {"match": text | "equals": text, and
  "reply": text | "json": object | "tool_calls": [...]}; `match` is found anywhere in the
  last user message ignoring case, `equals` must be the whole message exactly, an entry
  with neither always matches; the first match wins, no match echoes. Not regexes: the
  script is tenant input, and a catastrophic pattern would stall the event loop (and so
  every tenant) on one crafted message.
- `fail`: raises what a real provider answering `options["status"]` (default 500) would
  (`options["retry_after"]` seconds on a 429), so fallbacks can be driven offline.
- `cut`: a stream sends its first word and then drops, as a provider cut mid-stream would;
  not streamed it fails like `fail` with status 500.
Any mode waits `options["delay"]` seconds first (a TIMEOUT past the call's timeout).

Tokens: ceil(characters / 4) of each message's text for the prompt, of the answer's text
(plus each tool call's name and arguments) for the completion, so tests can predict them.
Embeddings: per input, a unit vector of `dimensions` (request, else `options["dimensions"]`,
else 8) floats derived from sha256 of the input.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import struct
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.upstream.base import Call, Failure, Json, Reply, UpstreamError
from agentsuite_llm_gateway.upstream.transport import failure_of_status

MODES = frozenset({"echo", "json", "tools", "script", "fail", "cut"})


def count(text: str) -> int:
    return -(-len(text) // 4)


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a content list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def prompt_tokens(body: Json) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(count(text_of(m.get("content"))) for m in messages if isinstance(m, dict))


def last_user_text(body: Json) -> str:
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


@dataclass(frozen=True, slots=True)
class Answer:
    text: str | None = None
    tool_calls: tuple[Json, ...] = ()  # OpenAI tool_call objects

    @property
    def completion_tokens(self) -> int:
        calls = sum(
            count(c["function"]["name"]) + count(c["function"]["arguments"])
            for c in self.tool_calls
        )
        return count(self.text or "") + calls


def refused(message: str) -> UpstreamError:
    return UpstreamError(Failure.REFUSED, message, status=400)


def tool_calls_of(specs: Any) -> tuple[Json, ...]:
    if not isinstance(specs, list):
        raise refused("local provider: tool_calls must be a list of {name, arguments}")
    out = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise refused(f"local provider: tool_calls[{i}] needs a name")
        arguments = spec.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        digest = hashlib.sha256(f"{i}:{spec['name']}:{arguments}".encode()).hexdigest()[:12]
        out.append(
            {
                "id": f"call_{digest}",
                "type": "function",
                "function": {"name": spec["name"], "arguments": arguments},
            }
        )
    return tuple(out)


def first_tool(body: Json) -> list[Json]:
    tools = body.get("tools")
    if isinstance(tools, list):
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            if isinstance(function, dict) and isinstance(function.get("name"), str):
                return [{"name": function["name"], "arguments": {}}]
    raise refused("local provider in tools mode: the request has no tools and none are set")


def matches(entry: Json, said: str) -> bool:
    if "equals" in entry:
        return said == str(entry["equals"])
    return str(entry.get("match", "")).casefold() in said.casefold()


def scripted(entry: Json, body: Json) -> Answer:
    if "tool_calls" in entry:
        return Answer(tool_calls=tool_calls_of(entry["tool_calls"]))
    if "json" in entry:
        return Answer(json.dumps(entry["json"]))
    return Answer(str(entry.get("reply", "")))


def answer(call: Call) -> Answer:
    mode = call.model.upstream
    options = call.model.provider.options
    body = call.body
    if mode == "echo":
        return Answer(last_user_text(body))
    if mode == "json":
        return Answer(json.dumps(options.get("json", {})))
    if mode == "tools":
        specs = options.get("tool_calls") or first_tool(body)
        return Answer(tool_calls=tool_calls_of(specs))
    if mode == "script":
        said = last_user_text(body)
        script = options.get("script") or []
        for entry in script if isinstance(script, list) else []:
            if isinstance(entry, dict) and matches(entry, said):
                return scripted(entry, body)
        return Answer(said)
    if mode in ("fail", "cut"):
        raise failure(options if mode == "fail" else {})
    raise UpstreamError(
        Failure.REFUSED,
        f"local provider has no model {mode!r} (one of: {', '.join(sorted(MODES))})",
        status=404,
    )


def failure(options: dict[str, Any]) -> UpstreamError:
    try:
        status = int(options.get("status", 500))
    except (TypeError, ValueError):
        status = 500
    headers = {}
    if options.get("retry_after") is not None:
        headers["Retry-After"] = str(options["retry_after"])
    body = json.dumps({"error": {"message": f"local provider failing with {status} on purpose"}})
    return failure_of_status(status, body.encode(), headers)


def usage(prompt: int, completion: int) -> Json:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def unit_vector(text: str, dimensions: int) -> list[float]:
    raw: list[float] = []
    block = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{block}:{text}".encode()).digest()
        raw.extend(b / 127.5 - 1.0 for b in digest)
        block += 1
    raw = raw[:dimensions]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class LocalAdapter:
    async def _delay(self, call: Call) -> None:
        delay = call.model.provider.options.get("delay")
        if isinstance(delay, int | float) and delay > 0:
            if delay > call.timeout:
                await asyncio.sleep(call.timeout)
                raise UpstreamError(Failure.TIMEOUT, "local provider timed out (delay option)")
            await asyncio.sleep(delay)

    async def complete(self, call: Call) -> Reply:
        await self._delay(call)
        said = answer(call)
        message: Json = {"role": "assistant", "content": said.text, "refusal": None}
        if said.tool_calls:
            message["tool_calls"] = list(said.tool_calls)
        tokens = Tokens(prompt_tokens(call.body), said.completion_tokens)
        body = {
            "id": f"chatcmpl-local-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model.upstream,
            "system_fingerprint": "local",
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if said.tool_calls else "stop",
                }
            ],
            "usage": usage(tokens.prompt, tokens.completion),
        }
        return Reply(body=body, tokens=tokens)

    async def stream(self, call: Call) -> AsyncIterator[Json]:
        """Word chunks, tool call deltas, the finish chunk, then always a usage chunk (the
        gateway bills from it and drops it if the client did not ask for it)."""
        await self._delay(call)
        cut = call.model.upstream == "cut"
        said = Answer(last_user_text(call.body) or "cut") if cut else answer(call)
        cid = f"chatcmpl-local-{uuid.uuid4().hex}"
        created = int(time.time())

        def chunk(delta: Json, finish: str | None = None) -> Json:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": call.model.upstream,
                "system_fingerprint": "local",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        yield chunk({"role": "assistant", "content": ""})
        for i, word in enumerate((said.text or "").split(" ") if said.text else []):
            yield chunk({"content": word if i == 0 else " " + word})
            if cut:
                raise UpstreamError(Failure.SERVER, "local provider dropped the stream (cut)")
        for i, tool_call in enumerate(said.tool_calls):
            yield chunk({"tool_calls": [{"index": i, **tool_call}]})
        yield chunk({}, "tool_calls" if said.tool_calls else "stop")
        last = chunk({})
        last["choices"] = []
        last["usage"] = usage(prompt_tokens(call.body), said.completion_tokens)
        yield last

    async def embed(self, call: Call) -> Reply:
        await self._delay(call)
        if call.model.upstream == "fail":
            raise failure(call.model.provider.options)
        body = call.body
        dimensions = body.get("dimensions")
        if dimensions is None:
            dimensions = call.model.provider.options.get("dimensions", 8)
        if type(dimensions) is not int or not 1 <= dimensions <= 8192:
            raise refused("dimensions must be an integer from 1 to 8192")
        inputs = body.get("input", "")
        items = inputs if isinstance(inputs, list) and inputs else [inputs]
        if all(isinstance(x, int) for x in items):
            items = [items]  # one input given as a token array
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for i, item in enumerate(items):
            text = item if isinstance(item, str) else json.dumps(item)
            tokens += len(item) if isinstance(item, list) else count(text)
            vector = unit_vector(text, dimensions)
            embedding: list[float] | str = vector
            if as_base64:
                embedding = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        answer_body = {
            "object": "list",
            "data": data,
            "model": call.model.upstream,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return Reply(body=answer_body, tokens=Tokens(prompt=tokens))
