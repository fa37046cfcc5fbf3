"""The tools an MCP server lists (`tools/list` over streamable HTTP, with the official `mcp`
SDK), behind the SSRF guard and bounded in time, pages and count.

The guard runs twice: on the URL as written (`check_url`: scheme, no userinfo, literal
addresses) and on every address its host resolves to now, so a name such as `localhost`
cannot reach what a literal could not. The SDK's HTTP client resolves again when it
connects; a name that changes its answer in between (DNS rebinding) is not caught here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from agentsuite_kit.errors import DomainError, Invalid, TimedOut, Unavailable
from agentsuite_kit.http.guard import Blocked, check_address, check_url

MAX_TOOLS = 1_000
MAX_PAGES = 50  # a server that pages forever is cut off here


async def _check_resolved(url: str, allowed: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unavailable(
            "mcp_unreachable", f"{host} does not resolve: {exc}", field="url"
        ) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        check_address(host, address, allowed)


async def _pages(url: str, seconds: float) -> tuple[list[dict[str, Any]], bool]:
    """The listed tools (wire form), and whether the listing went past the bounds."""
    # imported here: the SDK is ~1 s of CPU at import, a quarter of catalog's start, for a
    # route most processes never serve (the standard's /readyz within 5 s)
    from mcp import Client

    listed: list[dict[str, Any]] = []
    async with Client(url, read_timeout_seconds=seconds) as client:
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            listed.extend(
                t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools
            )
            cursor = page.next_cursor
            if cursor is None or len(listed) > MAX_TOOLS:
                return listed, len(listed) > MAX_TOOLS
    return listed, True


async def list_tools(url: str, allowed: tuple[str, ...], seconds: float) -> list[dict[str, Any]]:
    """Every tool the server at `url` lists; a DomainError naming `url` otherwise."""
    try:
        check_url(url, allowed)
    except Blocked as exc:
        raise Invalid("url_blocked", exc.message, field="url") from None
    try:
        # the name's resolution counts against the time too: a stalled resolver is a bound
        async with asyncio.timeout(seconds):
            try:
                await _check_resolved(url, allowed)
            except Blocked as exc:
                raise Invalid("url_blocked", exc.message, field="url") from None
            listed, over = await _pages(url, seconds)
    except TimeoutError:
        raise TimedOut(
            "mcp_timeout",
            f"the MCP server did not list its tools within {seconds:g} s",
            field="url",
        ) from None
    except DomainError:
        raise
    except Exception as exc:  # the SDK's transport, protocol and task-group errors alike
        reason = str(exc).split("\n", 1)[0][:300] or type(exc).__name__
        raise Unavailable("mcp_unreachable", f"tools/list failed: {reason}", field="url") from None
    if over:
        raise Invalid(
            "too_many_tools",
            f"the server lists more than {MAX_TOOLS} tools (or {MAX_PAGES} pages)",
            field="url",
        )
    return listed
