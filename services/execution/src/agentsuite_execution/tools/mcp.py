"""`mcp` tools: one `tools/call` over MCP's streamable HTTP transport, with the official
`mcp` SDK. The binding's target is the server's URL, `config.tool` the tool's name there
(catalog's MCP import writes bindings so).

The bounds and the guard of `http` tools hold: the URL is checked as written (scheme, no
userinfo, literal addresses) and every address its host resolves to now, against the
same `allowed_hosts`; the whole call (connect, handshake, call) is bounded by the step's
time, and every byte the server sends counts against `http_max_bytes`. The name is
resolved once (the toolbox's resolver, else the system's): the SDK's HTTP client connects
to the address checked, never resolving the name again, so a name that changes its
answer in between (DNS rebinding) cannot lead it elsewhere. The URL (Host header, TLS
server name and certificate check) keeps the name. Redirects leave the server's origin
never (the SDK's rule), and a connection to any other host is refused.

The answer: a result marked as an error fails the step (`tool_error`, not retryable); the
structured content is the output when there is one, else the text of a single text
block (parsed when it is JSON), else the content blocks as JSON.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2
import orjson
from aiohttp.abc import AbstractResolver
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from agentsuite_execution.tools.calls import Call, ToolError
from agentsuite_execution.tools.credentials import clipped
from agentsuite_execution.tools.webhook import too_large, with_query
from agentsuite_kit.http.guard import Blocked, check_address, check_url

__all__ = ["send"]


class _Over(Exception):
    """The server sent more than the byte bound."""


class _Counted(httpx2.AsyncByteStream):
    def __init__(self, stream: httpx2.AsyncByteStream, budget: Budget) -> None:
        self.stream = stream
        self.budget = budget

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.budget.spend(len(chunk))
            yield chunk

    async def aclose(self) -> None:
        await self.stream.aclose()


class Budget:
    """The bytes one call may still read, over every response of its session."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.read = 0
        self.over = False

    def spend(self, n: int) -> None:
        self.read += n
        if self.read > self.limit:
            self.over = True
            raise _Over(f"over {self.limit} bytes")


class _Pinned(httpcore2.AsyncNetworkBackend):
    """Connects `host` to `address`, the one the guard checked, without resolving it
    again; any other host is refused."""

    def __init__(self, host: str, address: str) -> None:
        self.host = _ascii(host)
        self.address = address
        self.inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if _ascii(host) != self.host:
            raise httpcore2.ConnectError(f"{host} is not the MCP server's host {self.host}")
        return await self.inner.connect_tcp(
            self.address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("an MCP server is reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _ascii(host: str) -> str:
    """`host` as the HTTP client spells its URL's host (lower case, IDNA)."""
    return (host if host.isascii() else host.encode("idna").decode("ascii")).lower()


class _Bounded(httpx2.AsyncBaseTransport):
    """The default transport connecting to the checked address only (`_Pinned`), each
    response body counted against the call's budget."""

    def __init__(self, budget: Budget, pinned: _Pinned) -> None:
        self.inner = httpx2.AsyncHTTPTransport(trust_env=False)
        # httpx takes no network backend: its pool is rebuilt with one (as httpx builds it)
        self.inner._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False), network_backend=pinned
        )
        self.budget = budget

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        response.stream = _Counted(stream, self.budget)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def forbidden(message: str) -> ToolError:
    return ToolError("forbidden_target", message)


async def _resolved(
    url: str, allowed: tuple[str, ...], resolver: AbstractResolver | None
) -> _Pinned:
    """The URL's host resolved once, every address checked; the connection pinned to the
    first."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        if resolver is not None:
            found = [r["host"] for r in await resolver.resolve(host, port, socket.AF_UNSPEC)]
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
            found = [str(info[4][0]) for info in infos]
    except OSError as exc:
        raise ToolError(
            "network_error", f"{host} does not resolve: {exc}", retryable=True
        ) from None
    if not found:
        raise ToolError("network_error", f"{host} resolves to no address", retryable=True)
    for address in found:
        check_address(host, ipaddress.ip_address(address.split("%", 1)[0]), allowed)
    return _Pinned(host, found[0])


def output_of(result: Any) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    blocks = [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in result.content]
    if len(blocks) == 1 and blocks[0].get("type") == "text":
        text = blocks[0].get("text", "")
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
    return blocks


def text_of(result: Any, secrets: tuple[str, ...] = ()) -> str:
    """The error's text, masked before it is cut (a cut through a secret hides it from
    the mask)."""
    texts = [getattr(b, "text", "") for b in result.content]
    return clipped(" ".join(t for t in texts if t), secrets, 512)


def target_of(call: Call, allowed: tuple[str, ...]) -> tuple[str, str]:
    """(URL, tool name) of the binding, the URL checked as written."""
    url, tool = call.binding.target, call.binding.config.get("tool")
    if not isinstance(tool, str) or not tool:
        raise ToolError("invalid_binding", "an `mcp` binding needs config.tool, a tool name")
    if not isinstance(call.input, dict | None):
        raise ToolError("invalid_input", "an `mcp` tool's input is an object of arguments")
    try:
        check_url(url, allowed)
    except Blocked as exc:
        raise forbidden(exc.message) from None
    return url, tool


async def send(
    call: Call,
    *,
    allowed: tuple[str, ...],
    seconds: float,
    max_bytes: int,
    user_agent: str,
    resolver: AbstractResolver | None = None,
) -> Any:
    """Call the `mcp` tool of `call`; its output, or a ToolError. `resolver` names the
    addresses of the server's host (None: the system's)."""
    url, tool = target_of(call, allowed)
    headers = {"User-Agent": user_agent, "Idempotency-Key": call.key}
    secrets: tuple[str, ...] = ()
    if call.credential is not None:
        headers.update(call.credential.headers())
        url = with_query(url, call.credential.query())
        secrets = call.credential.masked
    budget = Budget(max_bytes)
    try:
        async with asyncio.timeout(seconds):
            try:
                pinned = await _resolved(url, allowed, resolver)
            except Blocked as exc:
                raise forbidden(exc.message) from None
            client = httpx2.AsyncClient(
                headers=headers,
                timeout=httpx2.Timeout(seconds),
                transport=_Bounded(budget, pinned),
                follow_redirects=False,
                trust_env=False,  # an environment's proxy would connect by name again
            )
            async with client:
                transport = streamable_http_client(url, http_client=client)
                async with Client(transport, read_timeout_seconds=seconds, cache=None) as session:
                    result = await session.call_tool(tool, call.input or {})
    except TimeoutError:
        raise ToolError(
            "timeout", f"the MCP server did not answer within {seconds:g} s", retryable=True
        ) from None
    except ToolError:
        raise
    except Exception as exc:  # the SDK's transport, protocol and task-group errors alike
        if budget.over:
            raise too_large(max_bytes, None) from None
        # masked before it is cut: an HTTP client's error may quote the URL and its query
        reason = clipped(str(exc).split("\n", 1)[0], secrets, 300) or type(exc).__name__
        raise ToolError("network_error", f"the MCP call failed: {reason}", retryable=True) from None
    if result.is_error:
        raise ToolError(
            "tool_error",
            f"the MCP tool {tool!r} answered an error: {text_of(result, secrets)}",
            details={"tool": tool},
        )
    return output_of(result)
