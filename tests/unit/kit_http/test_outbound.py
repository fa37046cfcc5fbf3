"""The kit's outbound client against a real local aiohttp server: redirects are answers,
never followed; internal addresses are refused as URL literals and as what a name resolves
to; the body and the time of an exchange are bounded; no secret of the request comes back
in an error; the transport is injectable."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver

from agentsuite_kit.outbound import (
    Dropped,
    InvalidResponse,
    OutboundClient,
    OutboundError,
    PinnedResolver,
    TargetBlocked,
    TimedOut,
    TooLarge,
    mask,
    secrets_of,
    tcp_connector,
)

LIMIT = 1024
SECRET = "sk-live-outbound-0123456789"
TOKEN = "tok-bearer-9876543210"


@dataclass
class Server:
    """A local server recording the paths that reached it."""

    url: str = ""
    seen: list[str] = field(default_factory=list)
    never: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.seen.append(path)
        if path == "redirect":
            raise web.HTTPFound(f"{self.url}/target")
        if path == "big":
            return web.Response(body=b"x" * (LIMIT + 1))
        if path == "chunked":  # no Content-Length: the bound must hold while reading
            stream = web.StreamResponse()
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for _ in range(16):
                await stream.write(b"y" * 256)
            return stream
        if path == "refused":
            return web.Response(status=400, body=b"e" * (LIMIT * 4))
        if path == "slow":
            await self.never.wait()
        if path == "cut":  # a chunked body the server abandons halfway
            stream = web.StreamResponse()
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            await stream.write(b"half")
            assert request.transport is not None
            request.transport.close()
            return stream
        return web.json_response({"path": path, "auth": request.headers.get("Authorization")})


@asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{path}", server.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        server.never.set()
        await runner.cleanup()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[OutboundClient]:
    opened = OutboundClient(allowed=("127.0.0.1",), seconds=10.0)
    yield opened
    await opened.aclose()


async def test_an_answer_within_the_bounds(client: OutboundClient, server: Server) -> None:
    reply = await client.fetch("GET", f"{server.url}/hello", max_bytes=LIMIT)
    assert (reply.status, reply.ok, reply.content_type) == (200, True, "application/json")
    assert reply.body == b'{"path": "hello", "auth": null}'


async def test_a_redirect_is_an_answer_never_followed(
    client: OutboundClient, server: Server
) -> None:
    reply = await client.fetch("POST", f"{server.url}/redirect", data=b"{}", max_bytes=LIMIT)
    assert (reply.status, reply.ok) == (302, False)
    assert reply.headers["Location"] == f"{server.url}/target"
    async with client.open("GET", f"{server.url}/redirect", seconds=10.0) as response:
        assert response.status == 302
    assert server.seen == ["redirect", "redirect"]  # never /target


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hello",
        "http://[::1]:{port}/hello",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://2130706433:{port}/hello",  # 127.0.0.1 as one number
        "file:///etc/passwd",
    ],
)
async def test_an_internal_url_is_refused_before_anything_is_sent(server: Server, url: str) -> None:
    closed = OutboundClient()  # nothing allowed
    port = server.url.rsplit(":", 1)[1]
    try:
        with pytest.raises(TargetBlocked):
            await closed.fetch("GET", url.format(port=port), max_bytes=LIMIT)
        with pytest.raises(TargetBlocked):
            closed.open("GET", url.format(port=port), seconds=1.0)
    finally:
        await closed.aclose()
    assert server.seen == []
    assert closed.guarded is None  # refused before a session (or a resolver) was made


async def test_a_name_resolving_to_an_internal_address_is_refused(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    rebound = OutboundClient(resolver=PinnedResolver("127.0.0.1"))
    opened = OutboundClient(allowed=("hooks.internal",), resolver=PinnedResolver("127.0.0.1"))
    try:
        with pytest.raises(TargetBlocked) as caught:
            await rebound.fetch("GET", f"http://public.example:{port}/hello", max_bytes=LIMIT)
        assert "127.0.0.1" in caught.value.message
        assert "internal address" in caught.value.message
        assert server.seen == []
        # the allow-list opens a name, and the call reaches the address it resolved to
        reply = await opened.fetch("GET", f"http://hooks.internal:{port}/hello", max_bytes=LIMIT)
        assert reply.ok
        with pytest.raises(TargetBlocked):
            await opened.fetch("GET", f"http://other.internal:{port}/hello", max_bytes=LIMIT)
    finally:
        await rebound.aclose()
        await opened.aclose()
    assert server.seen == ["hello"]


@pytest.mark.parametrize(("path", "length"), [("big", LIMIT + 1), ("chunked", None)])
async def test_a_body_over_the_bound_is_refused(
    client: OutboundClient, server: Server, path: str, length: int | None
) -> None:
    with pytest.raises(TooLarge) as caught:
        await client.fetch("GET", f"{server.url}/{path}", max_bytes=LIMIT)
    assert (caught.value.limit, caught.value.length) == (LIMIT, length)
    assert f"over the {LIMIT} byte limit" in caught.value.message


async def test_a_refusal_body_is_truncated_not_refused(
    client: OutboundClient, server: Server
) -> None:
    reply = await client.fetch("GET", f"{server.url}/refused", max_bytes=LIMIT, error_bytes=100)
    assert (reply.status, reply.ok, reply.body) == (400, False, b"e" * 100)
    # a status the call accepts is bounded as a success is
    with pytest.raises(TooLarge):
        await client.fetch("GET", f"{server.url}/refused", max_bytes=LIMIT, ok={400})


async def test_the_whole_exchange_is_bounded_in_time(
    client: OutboundClient, server: Server
) -> None:
    # /slow never answers: only the call's own bound can end it
    with pytest.raises(TimedOut) as caught:
        await client.fetch("GET", f"{server.url}/slow", max_bytes=LIMIT, seconds=0.2)
    assert isinstance(caught.value, TimeoutError)  # caught alike with a caller's own timers
    with pytest.raises(TimedOut):
        async with client.open("GET", f"{server.url}/slow", seconds=0.2) as response:
            await response.read()


async def test_a_connection_dropped_mid_body_is_dropped(
    client: OutboundClient, server: Server
) -> None:
    with pytest.raises(Dropped):
        await client.fetch("GET", f"{server.url}/cut", max_bytes=LIMIT)
    with pytest.raises(Dropped):
        async with client.open("GET", f"{server.url}/cut", seconds=10.0) as response:
            await response.read()


@asynccontextmanager
async def garbage_server() -> AsyncIterator[str]:
    """Answers every request with bytes that are not HTTP."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"this is not http\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def test_no_secret_of_the_request_comes_back_in_an_error(client: OutboundClient) -> None:
    # aiohttp quotes the URL, query included, when the answer is not HTTP
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": "k-header-secret"}
    async with garbage_server() as url:
        with pytest.raises(InvalidResponse) as caught:
            await client.fetch(
                "GET", f"{url}/v1?api_key={SECRET}&page=2", headers=headers, max_bytes=LIMIT
            )
    error = caught.value
    text = f"{error} {error.message} {error.detail} {error!r}"
    assert SECRET not in text
    assert "api_key=***" in error.detail  # the text was kept, the secret masked
    assert "page=2" in error.detail
    assert error.__cause__ is None
    assert error.__suppress_context__  # a traceback would print aiohttp's unmasked text


def test_secrets_of_a_request() -> None:
    found = secrets_of(
        "https://api.example/v1?key=k%2Fenc0ded&access_token=qtok1234&page=2&q=hello",
        {
            "Authorization": f"Bearer {TOKEN}",
            "x-goog-api-key": "goog-secret",
            "Cookie": "sid=cookie-value",
            "Content-Type": "application/json",
            "X-Short-Token": "abc",  # too short to mask without garbling text
        },
        [SECRET, None, ""],
    )
    assert set(found) == {
        f"Bearer {TOKEN}",
        TOKEN,
        "goog-secret",
        "sid=cookie-value",
        "k%2Fenc0ded",
        "k/enc0ded",
        "qtok1234",
        SECRET,
    }
    assert [len(s) for s in found] == sorted((len(s) for s in found), reverse=True)
    assert mask(f"no: Bearer {TOKEN} / {TOKEN}", found) == "no: *** / ***"
    assert mask("nothing here", found) == "nothing here"


async def test_the_transport_is_injectable(server: Server) -> None:
    made: list[int] = []

    def connector(resolver: AbstractResolver, limit: int) -> aiohttp.BaseConnector:
        made.append(limit)
        return tcp_connector(resolver, limit)

    injected = OutboundClient(allowed=("127.0.0.1",), connections=3, connector=connector)
    try:
        assert (await injected.fetch("GET", f"{server.url}/a", max_bytes=LIMIT, pool=1)).ok
        assert (await injected.fetch("GET", f"{server.url}/b", max_bytes=LIMIT, pool=1)).ok
        assert (await injected.fetch("GET", f"{server.url}/c", max_bytes=LIMIT, pool=2)).ok
    finally:
        await injected.aclose()
    assert made == [3, 3]  # one pool per key, each from the injected factory
    assert injected.sessions == {}


async def test_a_connection_refused_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OutboundClient(allowed=("127.0.0.1",))
    try:
        with pytest.raises(OutboundError) as caught:
            await client.fetch("GET", f"http://127.0.0.1:{port}/", max_bytes=LIMIT)
    finally:
        await client.aclose()
    assert type(caught.value).__name__ == "Unreachable"
    assert f"127.0.0.1:{port}" in caught.value.detail
