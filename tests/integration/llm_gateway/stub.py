"""A scriptable OpenAI-compatible upstream for tests and the bench: aiohttp.web on 127.0.0.1.

    async with stub_upstream() as stub:
        stub.script(Fail(429, retry_after=1), Reply("hi"))   # one behaviour per request
        ... point a provider at stub.url (ends in /v1) ...
        assert stub.requests[0].body["model"] == "gpt-x"

With the queue empty a request gets a normal reply echoing its last user message. Token
usage is predictable: prompt_tokens = words in the request's messages, completion_tokens =
words in the reply text plus one per tool call (a `Reply(usage=...)` overrides both).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import struct
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

Json = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """A normal answer; `text=None` echoes the last user message (unless tool_calls)."""

    text: str | None = None
    tool_calls: list[Json] | None = None  # [{name, arguments}] (arguments: str or object)
    usage: Json | None = None
    status: int = 200


@dataclass(frozen=True)
class Fail:
    status: int
    body: Any = None  # None: an OpenAI error object naming the status
    retry_after: float | None = None


@dataclass(frozen=True)
class Hang:
    """Sleep this long before sending any byte, then answer normally."""

    seconds: float


@dataclass(frozen=True)
class CutBeforeFirstToken:
    """Stream: headers and the role-only chunk, then the connection drops.
    Not streamed: the connection drops before any byte."""


@dataclass(frozen=True)
class CutAfterFirstToken:
    """Stream: the role chunk and one content chunk, then the connection drops.
    Not streamed: half the body, then the connection drops."""


@dataclass(frozen=True)
class Malformed:
    """200 with a body that is not JSON (or SSE whose data is not JSON)."""


@dataclass(frozen=True)
class Huge:
    """200 with a JSON-looking body of `nbytes`, sent in pieces without a length."""

    nbytes: int
    declare_length: bool = False  # True: send Content-Length up front


@dataclass(frozen=True)
class Redirect:
    location: str
    status: int = 302


Behaviour = (
    Reply | Fail | Hang | CutBeforeFirstToken | CutAfterFirstToken | Malformed | Huge | Redirect
)


@dataclass
class Received:
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class Stub:
    url: str = ""
    latency: float = 0.0
    requests: list[Received] = field(default_factory=list)
    queue: deque[Behaviour] = field(default_factory=deque)
    # per `Huge` answer: (bytes written, whether the client went away before the end)
    huge: list[tuple[int, bool]] = field(default_factory=list)

    def script(self, *behaviours: Behaviour) -> None:
        """Queue one behaviour per coming request, in order."""
        self.queue.extend(behaviours)

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.requests]


def words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(words(v.get("text") if isinstance(v, dict) else v) for v in value)
    return 0


def prompt_words(body: Json) -> int:
    return sum(words(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))


def last_user_text(body: Json) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(
                    str(p.get("text", "")) for p in content if isinstance(p, dict)
                ).strip()
    return "ok"


def tool_call_objects(tool_calls: list[Json]) -> list[Json]:
    out = []
    for i, call in enumerate(tool_calls):
        arguments = call.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = orjson.dumps(arguments).decode()
        out.append(
            {
                "id": f"call_{i}_{hashlib.sha256(call['name'].encode()).hexdigest()[:8]}",
                "type": "function",
                "function": {"name": call["name"], "arguments": arguments},
            }
        )
    return out


def error_body(status: int) -> Json:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else ""
    return {
        "error": {
            "message": f"stub upstream failure {status}",
            "type": kind or "invalid_request_error",
            "param": None,
            "code": str(status),
        }
    }


def sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class _Server:
    def __init__(self, stub: Stub) -> None:
        self.stub = stub

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        self.stub.requests.append(Received(request.path, body, dict(request.headers)))
        return body

    def _next(self) -> Behaviour:
        return self.stub.queue.popleft() if self.stub.queue else Reply()

    async def _common(  # noqa: C901  a stub upstream: one branch per scripted fault
        self, request: web.Request, behaviour: Behaviour
    ) -> web.StreamResponse | None:
        """Behaviours that look the same on every route; None: route-specific handling."""
        if self.stub.latency:
            await asyncio.sleep(self.stub.latency)
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            return None
        if isinstance(behaviour, Fail):
            headers = {}
            if behaviour.retry_after is not None:
                headers["Retry-After"] = f"{behaviour.retry_after:g}"
            body = error_body(behaviour.status) if behaviour.body is None else behaviour.body
            data = body if isinstance(body, bytes | str) else orjson.dumps(body)
            return web.Response(
                status=behaviour.status,
                body=data if isinstance(data, bytes) else data.encode(),
                headers=headers,
                content_type="application/json",
            )
        if isinstance(behaviour, Redirect):
            return web.Response(status=behaviour.status, headers={"Location": behaviour.location})
        if isinstance(behaviour, Huge):
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            if behaviour.declare_length:
                response.content_length = behaviour.nbytes
            await response.prepare(request)
            piece = b'{"pad": "' + b"x" * 65_000
            sent = 0
            cut = False
            try:
                while sent < behaviour.nbytes:
                    chunk = piece[: behaviour.nbytes - sent]
                    await response.write(chunk)
                    sent += len(chunk)
                await response.write_eof()
            except (ConnectionError, asyncio.CancelledError):
                cut = True  # the client gave up reading, as it should
            self.stub.huge.append((sent, cut))
            return response
        if isinstance(behaviour, CutBeforeFirstToken | CutAfterFirstToken | Malformed):
            return None
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        behaviour = self._next()
        done = await self._common(request, behaviour)
        if done is not None:
            return done
        body = body if isinstance(body, dict) else {}
        reply = behaviour if isinstance(behaviour, Reply) else Reply()
        text = reply.text
        tool_calls = tool_call_objects(reply.tool_calls) if reply.tool_calls else None
        if text is None and tool_calls is None:
            text = last_user_text(body)
        usage = reply.usage or {
            "prompt_tokens": prompt_words(body),
            "completion_tokens": words(text or "") + len(tool_calls or []),
        }
        usage = {"total_tokens": usage["prompt_tokens"] + usage["completion_tokens"], **usage}
        model = body.get("model", "stub-model")
        cid = f"chatcmpl-{len(self.stub.requests)}"
        created = int(time.time())
        finish = "tool_calls" if tool_calls else "stop"
        if body.get("stream"):
            return await self._stream(
                request, behaviour, reply.status, cid, created, model, text, tool_calls,
                finish, usage if (body.get("stream_options") or {}).get("include_usage") else None,
            )  # fmt: skip
        message: Json = {"role": "assistant", "content": text, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        obj = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_stub",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": usage,
        }
        data = orjson.dumps(obj)
        if isinstance(behaviour, Malformed):
            data = data[: len(data) // 2] + b"}}garbage"
        if isinstance(behaviour, CutBeforeFirstToken | CutAfterFirstToken):
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            if isinstance(behaviour, CutBeforeFirstToken):
                return self._drop(request, response)
            response.content_length = len(data)
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            return self._drop(request, response)
        return web.Response(status=reply.status, body=data, content_type="application/json")

    def _drop(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.close()
        return response

    async def _stream(  # noqa: C901  a stub upstream: one branch per scripted stream fault
        self,
        request: web.Request,
        behaviour: Behaviour,
        status: int,
        cid: str,
        created: int,
        model: str,
        text: str | None,
        tool_calls: list[Json] | None,
        finish: str,
        usage: Json | None,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=status,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        )

        def chunk(delta: Json, finish_reason: str | None = None) -> Json:
            return {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_stub",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }

        try:
            await response.prepare(request)
            await response.write(sse(chunk({"role": "assistant", "content": "", "refusal": None})))
            if isinstance(behaviour, CutBeforeFirstToken):
                return self._drop(request, response)
            if isinstance(behaviour, Malformed):
                await response.write(b"data: {not json at all\n\n")
                await response.write_eof()
                return response
            pieces = (text or "").split(" ") if text else []
            for i, piece in enumerate(pieces):
                await response.write(sse(chunk({"content": piece if i == 0 else " " + piece})))
                if isinstance(behaviour, CutAfterFirstToken):
                    return self._drop(request, response)
            for i, call in enumerate(tool_calls or []):
                args = call["function"]["arguments"]
                head = {
                    "index": i,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                await response.write(sse(chunk({"tool_calls": [head]})))
                if isinstance(behaviour, CutAfterFirstToken):
                    return self._drop(request, response)
                step = max(1, math.ceil(len(args) / 3))
                for start in range(0, len(args), step):
                    part = {"index": i, "function": {"arguments": args[start : start + step]}}
                    await response.write(sse(chunk({"tool_calls": [part]})))
            await response.write(sse(chunk({}, finish)))
            if usage is not None:
                final = chunk({})
                final["choices"] = []
                final["usage"] = usage
                await response.write(sse(final))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            pass
        return response

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        behaviour = self._next()
        done = await self._common(request, behaviour)
        if done is not None:
            return done
        if isinstance(behaviour, CutBeforeFirstToken | CutAfterFirstToken):
            return self._drop(request, web.StreamResponse())
        if isinstance(behaviour, Malformed):
            return web.Response(status=200, body=b"{[", content_type="application/json")
        body = body if isinstance(body, dict) else {}
        inputs = body.get("input", "")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, item in enumerate(items):
            digest = hashlib.sha256(str(item).encode()).digest()
            raw = [b / 255 - 0.5 for b in digest[:8]]
            norm = math.sqrt(sum(x * x for x in raw)) or 1.0
            vector = [x / norm for x in raw]
            embedding: list[float] | str = vector
            if body.get("encoding_format") == "base64":  # what the openai client asks for
                embedding = base64.b64encode(struct.pack("<8f", *vector)).decode()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(words(str(item)) for item in items)
        obj = {
            "object": "list",
            "data": data,
            "model": body.get("model", "stub-embed"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return web.Response(body=orjson.dumps(obj), content_type="application/json")

    async def models(self, request: web.Request) -> web.StreamResponse:
        self.stub.requests.append(Received(request.path, None, dict(request.headers)))
        obj = {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "stub"}
                for name in ("stub-model", "stub-embed")
            ],
        }
        return web.Response(body=orjson.dumps(obj), content_type="application/json")


@asynccontextmanager
async def stub_upstream(latency: float = 0.0) -> AsyncIterator[Stub]:
    """A running stub upstream; `latency` seconds are added before every answer."""
    stub = Stub(latency=latency)
    server = _Server(stub)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", server.chat)
    app.router.add_post("/v1/embeddings", server.embeddings)
    app.router.add_get("/v1/models", server.models)
    # hanging handlers are cancelled at exit, not waited for
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    stub.url = f"http://{host}:{port}/v1"
    try:
        yield stub
    finally:
        await runner.cleanup()
