"""A stand-in for Anthropic's `/v1/messages` on 127.0.0.1: it checks the headers as the
real API does, records every request, and answers with what the test scripted (a message,
an SSE stream of events, or an error status)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-ant-test"
VERSION = "2023-06-01"


def message(
    text: str = "Hello!",
    *,
    stop_reason: str = "end_turn",
    content: list[dict[str, Any]] | None = None,
    usage: dict[str, int] | None = None,
) -> dict[str, Any]:
    return {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": "claude-stub-1",
        "content": content if content is not None else [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 9, "output_tokens": 3},
    }


def text_events(*pieces: str, usage: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """The events of a streamed text answer, as Anthropic sends them."""
    start_usage = usage or {"input_tokens": 9, "output_tokens": 1}
    return [
        {
            "type": "message_start",
            "message": {**message(content=[]), "stop_reason": None, "usage": start_usage},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            for p in pieces
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(pieces)},
        },
        {"type": "message_stop"},
    ]


@dataclass
class Stub:
    url: str = ""
    api_key: str = API_KEY
    version: str = VERSION
    reply: dict[str, Any] = field(default_factory=message)
    events: list[dict[str, Any]] = field(default_factory=lambda: text_events("Hel", "lo"))
    status: int | None = None  # answer this status with an Anthropic error body instead
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((dict(request.headers), body))
        if request.headers.get("x-api-key") != self.api_key:
            return error(401, "authentication_error", "invalid x-api-key")
        if request.headers.get("anthropic-version") != self.version:
            return error(400, "invalid_request_error", "anthropic-version: unsupported")
        if not isinstance(body.get("max_tokens"), int):
            return error(400, "invalid_request_error", "max_tokens: Field required")
        if self.status is not None:
            return error(self.status, "overloaded_error", "Overloaded")
        if not body.get("stream"):
            return web.json_response(self.reply)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in self.events:
            frame = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
            await response.write(frame.encode())
        await response.write_eof()
        return response


def error(status: int, kind: str, text: str) -> web.Response:
    body = {"type": "error", "error": {"type": kind, "message": text}}
    return web.json_response(body, status=status)


@asynccontextmanager
async def running_stub() -> AsyncIterator[Stub]:
    stub = Stub()
    app = web.Application()
    app.router.add_post("/v1/messages", stub.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stub.url = f"http://127.0.0.1:{port}"
    try:
        yield stub
    finally:
        await runner.cleanup()
