"""A real MCP server for tests: the `mcp` SDK's own server (MCPServer, streamable HTTP) on
127.0.0.1 under uvicorn, with tools that answer structured data, text, an error, a flood,
and one that checks the bearer token it was called with."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel


class Forecast(BaseModel):
    city: str
    celsius: float


@dataclass
class Served:
    url: str
    seen_auth: list[str | None] = field(default_factory=list)


def weather_server(token: str, served: Served) -> MCPServer:
    server = MCPServer("weather")

    @server.tool()
    def get_forecast(city: str, days: int = 1) -> Forecast:
        """The forecast for a city."""
        return Forecast(city=city, celsius=20.0 + days)

    @server.tool()
    def shout(text: str) -> str:
        """The text in capitals."""
        return text.upper()

    @server.tool()
    def broken(reason: str) -> str:
        """Always fails."""
        raise ValueError(f"broken on purpose: {reason}")

    @server.tool()
    def flood(kb: int) -> str:
        """`kb` kilobytes of text."""
        return "x" * (kb * 1024)

    @server.tool()
    async def slow(seconds: float) -> str:
        """Answers after `seconds`."""
        await asyncio.sleep(seconds)
        return "late"

    @server.tool()
    def whoami(ctx: Context) -> dict[str, Any]:
        """Checks the caller's bearer token; echoes what it got (a leaky tool)."""
        request = ctx.request_context.request
        got = request.headers.get("authorization") if request is not None else None
        served.seen_auth.append(got)
        if got != f"Bearer {token}":
            raise PermissionError("unauthorized")
        return {"ok": True, "echo": got}

    return server


@asynccontextmanager
async def mcp_server(token: str = "") -> AsyncIterator[Served]:
    """The weather server over TCP on 127.0.0.1 (lifespan on: the session manager runs in
    it); `url` is its streamable HTTP endpoint."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    served = Served(url=f"http://127.0.0.1:{sock.getsockname()[1]}/mcp")
    app = weather_server(token, served).streamable_http_app()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield served
    finally:
        server.should_exit = True
        await task
