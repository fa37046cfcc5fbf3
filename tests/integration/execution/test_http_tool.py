"""`http` tools against a real local aiohttp server: the idempotency headers arrive, the
body and time caps hold, statuses map to retryable or not, redirects are never followed,
and the SSRF guard lets through only what allowed_hosts opens (no database needed)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import Call, Toolbox, ToolError
from agentsuite_kit.outbound import PinnedResolver

LIMIT = 4096  # http_max_bytes in these tests


@dataclass
class Hook:
    """A local webhook recording what reached it."""

    url: str = ""
    seen: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    redirect_to: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:  # noqa: C901  a stub server: one branch per kind of answer the tool must handle
        self.seen.append(request)
        self.bodies.append(await request.read())
        path = request.match_info["path"]
        if path == "json":
            return web.json_response({"method": request.method, "n": len(self.seen)})
        if path == "text":
            return web.Response(text="plain words", content_type="text/plain")
        if path == "bare":  # JSON without a Content-Type
            response = web.Response(body=b'{"bare": true}')
            response.headers.pop("Content-Type", None)
            return response
        if path == "badjson":
            return web.Response(body=b"{not json", content_type="application/json")
        if path == "empty":
            return web.Response(status=204)
        if path == "big":
            return web.Response(body=b'"' + b"x" * LIMIT + b'"', content_type="application/json")
        if path == "chunked":  # no Content-Length: the cap must hold while reading
            stream = web.StreamResponse(headers={"Content-Type": "application/json"})
            stream.enable_chunked_encoding()
            await stream.prepare(request)
            for _ in range(64):
                await stream.write(b" " * 1024)
            return stream
        if path == "slow":
            await asyncio.sleep(30)
        if path.startswith("status"):
            status = int(path[6:])
            headers = {"Retry-After": "7"} if status in (429, 503) else None
            return web.json_response({"error": "no"}, status=status, headers=headers)
        if path == "redirect":
            raise web.HTTPFound(self.redirect_to)
        return web.json_response({"path": path})


@asynccontextmanager
async def serve(host: str = "127.0.0.1") -> AsyncIterator[Hook]:
    hook = Hook()
    app = web.Application()
    app.router.add_route("*", "/{path}", hook.handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    bound, port = runner.addresses[0][:2]
    hook.url = f"http://{bound}:{port}"
    try:
        yield hook
    finally:
        await runner.cleanup()


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    async with serve() as running:
        yield running


@pytest.fixture
async def box() -> AsyncIterator[Toolbox]:
    toolbox = Toolbox(settings(allowed_hosts=("127.0.0.1",)))
    yield toolbox
    await toolbox.aclose()


DSN = SecretStr("postgresql+asyncpg://u@localhost/x")  # never connected to


def settings(**overrides: Any) -> ExecutionSettings:
    return ExecutionSettings(database_url=DSN, http_max_bytes=LIMIT, **overrides)


def call(url: str, input: Any = None, *, timeout: float = 5.0, **config: Any) -> Call:
    return Call(
        binding=ToolBinding(kind=BindingKind.HTTP, target=url, config=config),
        input=input,
        key="exec-1/step-a",
        attempt=3,
        timeout=timeout,
        execution_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        step="step-a",
    )


async def refusal(box: Toolbox, one: Call) -> ToolError:
    with pytest.raises(ToolError) as caught:
        await box.invoke(one)
    return caught.value


async def test_input_and_idempotency_headers_arrive(box: Toolbox, hook: Hook) -> None:
    out = await box.invoke(call(f"{hook.url}/json", {"a": [1, "two"]}, headers={"X-Tag": "t"}))
    assert out == {"method": "POST", "n": 1}
    request = hook.seen[0]
    assert hook.bodies[0] == b'{"a":[1,"two"]}'
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "exec-1/step-a"
    assert request.headers["X-Agentsuite-Attempt"] == "3"
    assert request.headers["X-Agentsuite-Execution"] == "00000000-0000-4000-8000-000000000001"
    assert request.headers["X-Agentsuite-Step"] == "step-a"
    assert request.headers["X-Tag"] == "t"
    assert request.headers["User-Agent"] == "agentsuite-execution"


async def test_get_sends_no_body(box: Toolbox, hook: Hook) -> None:
    assert await box.invoke(call(f"{hook.url}/json", {"ignored": 1}, method="GET")) == {
        "method": "GET",
        "n": 1,
    }
    assert hook.bodies == [b""]
    assert hook.seen[0].headers["Idempotency-Key"] == "exec-1/step-a"


async def test_outputs_by_content_type(box: Toolbox, hook: Hook) -> None:
    assert await box.invoke(call(f"{hook.url}/text")) == "plain words"
    assert await box.invoke(call(f"{hook.url}/bare")) == {"bare": True}
    assert await box.invoke(call(f"{hook.url}/empty")) is None
    error = await refusal(box, call(f"{hook.url}/badjson"))
    assert (error.code, error.retryable) == ("bad_response", False)


@pytest.mark.parametrize("path", ["big", "chunked"])
async def test_body_over_the_cap_is_refused(box: Toolbox, hook: Hook, path: str) -> None:
    error = await refusal(box, call(f"{hook.url}/{path}"))
    assert error.code == "response_too_large"
    assert not error.retryable
    assert error.details["limit"] == LIMIT


async def test_the_whole_call_is_bounded_by_its_timeout(box: Toolbox, hook: Hook) -> None:
    # /slow answers (200) after 30 s: a timeout can only be the call's own bound
    error = await refusal(box, call(f"{hook.url}/slow", timeout=0.3))
    assert (error.code, error.retryable) == ("timeout", True)
    assert "within 0.3 s" in error.message


async def test_settings_http_timeout_caps_the_call() -> None:
    async with serve() as hook:
        box = Toolbox(settings(allowed_hosts=("127.0.0.1",), http_timeout=0.3))
        try:
            error = await refusal(box, call(f"{hook.url}/slow", timeout=60))
        finally:
            await box.aclose()
    assert error.code == "timeout"
    assert "within 0.3 s" in error.message  # the setting's bound, not the call's minute


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (429, True), (400, False), (404, False), (422, False)],
)
async def test_status_decides_retryable(
    box: Toolbox, hook: Hook, status: int, retryable: bool
) -> None:
    error = await refusal(box, call(f"{hook.url}/status{status}"))
    assert error.code == "tool_error"
    assert error.retryable is retryable
    assert error.details["status"] == status
    assert '"error"' in error.details["body"]
    assert error.details.get("retry_after") == (7.0 if status in (429, 503) else None)


async def test_success_statuses_override_the_2xx_rule(box: Toolbox, hook: Hook) -> None:
    one = call(f"{hook.url}/status404", success_statuses=[200, 404])
    assert await box.invoke(one) == {"error": "no"}
    error = await refusal(box, call(f"{hook.url}/json", success_statuses=[201]))
    assert error.details["status"] == 200


async def test_redirect_to_a_private_address_is_not_followed(box: Toolbox, hook: Hook) -> None:
    async with serve("127.0.0.2") as inner:  # internal and not in allowed_hosts
        hook.redirect_to = f"{inner.url}/secret"
        error = await refusal(box, call(f"{hook.url}/redirect", {"x": 1}))
        direct = await refusal(box, call(f"{inner.url}/secret"))
    assert inner.seen == []
    assert (error.code, error.retryable) == ("tool_error", False)
    assert error.details["status"] == 302
    assert error.details["location"] == f"{inner.url}/secret"
    assert "not followed" in error.message
    assert direct.code == "forbidden_target"


async def test_loopback_is_forbidden_unless_allowed(hook: Hook) -> None:
    closed = Toolbox(settings())
    try:
        error = await refusal(closed, call(f"{hook.url}/json"))
    finally:
        await closed.aclose()
    assert (error.code, error.retryable) == ("forbidden_target", False)
    assert hook.seen == []
    for allowed in (("127.0.0.1",), ("127.0.0.0/8",)):
        opened = Toolbox(settings(allowed_hosts=allowed))
        try:
            assert await opened.invoke(call(f"{hook.url}/json")) == {"method": "POST", "n": 1}
        finally:
            await opened.aclose()
        hook.seen.clear()


async def test_allowed_host_name_reaches_the_address_it_resolved_to(hook: Hook) -> None:
    port = hook.url.rsplit(":", 1)[1]
    named = Toolbox(
        settings(allowed_hosts=("hooks.internal",)), resolver=PinnedResolver("127.0.0.1")
    )
    try:
        out = await named.invoke(call(f"http://hooks.internal:{port}/json"))
        error = await refusal(named, call(f"http://other.internal:{port}/json"))
    finally:
        await named.aclose()
    assert out == {"method": "POST", "n": 1}
    assert hook.seen[0].host == f"hooks.internal:{port}"
    assert error.code == "forbidden_target"
    assert len(hook.seen) == 1


async def test_connection_refused_is_a_retryable_network_error(box: Toolbox) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await refusal(box, call(f"http://127.0.0.1:{port}/json"))
    assert (error.code, error.retryable) == ("network_error", True)


async def test_input_that_is_not_json_is_refused(box: Toolbox, hook: Hook) -> None:
    error = await refusal(box, call(f"{hook.url}/json", {"when": object()}))
    assert error.code == "invalid_input"
    assert hook.seen == []


async def test_a_token_in_the_tool_url_never_comes_back_in_the_error(box: Toolbox) -> None:
    """A webhook URL may carry its credential in the query (config headers may not): an
    answer that is not HTTP makes aiohttp quote the whole URL, and the step's error is
    stored and shown, so the token must be masked there."""
    secret = "hook-token-0123456789"

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"this is not http\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        error = await refusal(box, call(f"http://127.0.0.1:{port}/hook?token={secret}&v=2"))
    finally:
        server.close()
    assert (error.code, error.retryable) == ("network_error", True)
    assert secret not in f"{error.message} {error.details}"
    assert "token=***" in error.message  # the text is kept, the secret masked
