"""`mcp` tools against a real MCP server (the SDK's own, streamable HTTP, on 127.0.0.1):
structured and text answers, a tool error, the bearer credential presented and masked,
and the bounds and guard `http` tools have (time, response bytes, allowed_hosts), the
connection pinned to the address the guard checked (DNS rebinding)."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import Call, Toolbox, ToolError
from agentsuite_execution.tools.credentials import Credential
from agentsuite_kit.outbound.pinned import PinnedResolver
from tests.integration.execution.mcp_support import Served, mcp_server

TOKEN = "mcp-tok-81b2f0c4-secret"
LIMIT = 8192
DSN = SecretStr("postgresql+asyncpg://u@localhost/x")  # never connected to


def settings(**overrides: Any) -> ExecutionSettings:
    return ExecutionSettings(database_url=DSN, http_max_bytes=LIMIT, **overrides)


@pytest.fixture
async def server() -> AsyncIterator[Served]:
    async with mcp_server(TOKEN) as served:
        yield served


@pytest.fixture
async def box() -> AsyncIterator[Toolbox]:
    toolbox = Toolbox(settings(allowed_hosts=("127.0.0.1",)))
    yield toolbox
    await toolbox.aclose()


def call(
    url: str, tool: str, input: Any, *, timeout: float = 20.0, credential: Credential | None = None
) -> Call:
    return Call(
        binding=ToolBinding(kind=BindingKind.MCP, target=url, config={"tool": tool}),
        input=input,
        key="exec-1/step-m",
        attempt=1,
        timeout=timeout,
        execution_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        step="step-m",
        credential=credential,
    )


PUBLIC = "1.2.3.4"  # a public address, where no MCP server of this test listens


class Rebinding:
    """`socket.getaddrinfo` for `host`: a public address the first time, loopback from
    then on (a DNS rebinding attack); other names as the system answers them."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.real = socket.getaddrinfo
        self.answers = 0

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host  # anyio asks in bytes
        if name != self.host:
            return self.real(host, port, *args, **kwargs)
        self.answers += 1
        address = PUBLIC if self.answers == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]


def bearer(value: str = TOKEN) -> Credential:
    return Credential(scheme="bearer", secret_name="mcp-token", value=value)


async def test_structured_and_text_answers(box: Toolbox, server: Served) -> None:
    forecast = await box.invoke(call(server.url, "get_forecast", {"city": "Oslo", "days": 2}))
    assert forecast == {"city": "Oslo", "celsius": 22.0}
    assert await box.invoke(call(server.url, "shout", {"text": "hi"})) in ("HI", {"result": "HI"})


async def test_a_tool_error_fails_the_call_not_retryable(box: Toolbox, server: Served) -> None:
    with pytest.raises(ToolError) as failed:
        await box.invoke(call(server.url, "broken", {"reason": "test"}))
    assert failed.value.code == "tool_error"
    assert not failed.value.retryable
    assert "broken" in failed.value.message  # the SDK's server keeps its exception text


async def test_the_bearer_credential_is_presented_and_masked(box: Toolbox, server: Served) -> None:
    output = await box.invoke(call(server.url, "whoami", {}, credential=bearer()))
    assert server.seen_auth == [f"Bearer {TOKEN}"]
    assert output["ok"] is True
    assert TOKEN not in str(output)
    with pytest.raises(ToolError) as refused:
        await box.invoke(call(server.url, "whoami", {}, credential=bearer("wrong-token-123")))
    assert refused.value.code == "tool_error"
    assert "wrong-token-123" not in refused.value.message


async def test_a_response_over_the_byte_bound_fails(box: Toolbox, server: Served) -> None:
    with pytest.raises(ToolError) as failed:
        await box.invoke(call(server.url, "flood", {"kb": 64}))
    assert failed.value.code == "response_too_large"


async def test_a_slow_server_times_out(box: Toolbox, server: Served) -> None:
    with pytest.raises(ToolError) as failed:
        await box.invoke(call(server.url, "slow", {"seconds": 30}, timeout=1.0))
    assert failed.value.code == "timeout"
    assert failed.value.retryable


async def test_a_loopback_server_is_refused_without_the_allow_list(server: Served) -> None:
    guarded = Toolbox(settings())
    try:
        for url in (server.url, server.url.replace("127.0.0.1", "localhost")):
            with pytest.raises(ToolError) as refused:
                await guarded.invoke(call(url, "shout", {"text": "x"}))
            assert refused.value.code == "forbidden_target", url
    finally:
        await guarded.aclose()
    assert server.seen_auth == []


async def test_a_binding_without_a_tool_name_is_invalid(box: Toolbox, server: Served) -> None:
    bad = Call(
        binding=ToolBinding(kind=BindingKind.MCP, target=server.url),
        input={},
        key="k",
        attempt=1,
        timeout=5.0,
        execution_id=uuid.uuid4(),
        step="s",
    )
    with pytest.raises(ToolError) as refused:
        await box.invoke(bad)
    assert refused.value.code == "invalid_binding"


async def test_a_name_rebound_to_loopback_after_the_check_is_not_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # any TCP connection on loopback counts (the SDK's server would refuse the Host, but a
    # loopback service need not)
    reached: list[object] = []

    async def accepted(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(writer.get_extra_info("peername"))
        writer.close()

    listener = await asyncio.start_server(accepted, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    rebinding = Rebinding("rebind.example")
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    guarded = Toolbox(settings())  # loopback not allowed
    url = f"http://rebind.example:{port}/mcp"
    try:
        with pytest.raises(ToolError) as failed:
            await guarded.invoke(call(url, "whoami", {}, credential=bearer(), timeout=5.0))
    finally:
        await guarded.aclose()
        listener.close()
        await listener.wait_closed()
    assert reached == []
    # the connection went to the address checked (nothing listens there), not loopback
    assert failed.value.code in ("network_error", "timeout"), failed.value.message
    assert rebinding.answers == 1


async def test_the_toolboxs_resolver_names_the_address_connected_to(server: Served) -> None:
    pinned = PinnedResolver("127.0.0.1")
    box = Toolbox(settings(allowed_hosts=("127.0.0.1",)), resolver=pinned)
    # a name the SDK's server accepts as Host (it refuses others: its own rebinding guard)
    url = server.url.replace("127.0.0.1", "localhost")
    try:
        output = await box.invoke(call(url, "whoami", {}, credential=bearer()))
    finally:
        await box.aclose()
    assert output["ok"] is True
    assert pinned.asked == ["localhost"]
