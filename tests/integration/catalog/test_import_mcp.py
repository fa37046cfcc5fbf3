"""`POST /v1/tools/import/mcp` against a real MCP server: the `mcp` SDK's own server
(MCPServer, streamable HTTP) on 127.0.0.1, allow-listed in this test's settings only."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any
from uuid import uuid4

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel

from agentsuite_catalog.mcp_servers import MAX_TOOLS
from tests.integration.catalog.harness import Service, auth

IMPORT = "/v1/tools/import/mcp"


class Forecast(BaseModel):
    city: str
    celsius: float


def weather_server() -> MCPServer:
    server = MCPServer("weather")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def get_forecast(city: str, days: int = 1) -> Forecast:
        """The forecast for a city."""
        return Forecast(city=city, celsius=20.0)

    @server.tool(title="Set an alert")
    def setAlert(city: str, above: float) -> str:
        """Alert when the temperature passes a threshold."""
        return "ok"

    return server


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    """`app` over TCP on 127.0.0.1 (lifespan on: the MCP session manager runs in it)."""
    sock = _socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


@contextmanager
def settings_of(service: Service, **values: Any) -> Iterator[None]:
    settings = service.deps.settings
    before = {k: getattr(settings, k) for k in values}
    for key, value in values.items():
        object.__setattr__(settings, key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            object.__setattr__(settings, key, value)


def problem(r: Any, status: int) -> tuple[str, str | None]:
    assert r.status_code == status, r.text
    body = r.json()
    return body["code"], body.get("field")


async def test_the_tools_a_real_mcp_server_lists_are_imported(service: Service) -> None:
    tenant = uuid4()
    async with serving(weather_server().streamable_http_app()) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        body = {"url": url, "prefix": "wx.", "credential": "weather-token"}
        with settings_of(service, allowed_hosts=("127.0.0.1",)):
            r = await service.client.post(IMPORT, json=body, headers=auth(tenant))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["created"] == 2, report
    made = {o["name"]: o for o in report["operations"]}
    assert set(made) == {"wx.get_forecast", "wx.set_alert"}
    got = await service.client.get(
        f"/v1/tools/{made['wx.get_forecast']['tool_id']}/versions/1.0.0", headers=auth(tenant)
    )
    assert got.status_code == 200, got.text
    spec = got.json()["spec"]
    assert spec["binding"]["kind"] == "mcp"
    assert spec["binding"]["auth"] == {
        "scheme": "bearer",
        "secret_name": "weather-token",
        "name": None,
    }
    assert url in str(spec["binding"])
    assert "get_forecast" in str(spec["binding"])
    assert spec["input_schema"]["required"] == ["city"]
    assert spec["output_schema"]["properties"]["celsius"]["type"] == "number"
    assert spec["side_effect"] == "read_only"
    alert = await service.client.get(
        f"/v1/tools/{made['wx.set_alert']['tool_id']}/versions/1.0.0", headers=auth(tenant)
    )
    assert alert.json()["spec"]["display_name"] == "Set an alert"
    # exported back as an MCP description, it is the tool the server listed
    exported = await service.client.get(
        f"/v1/tools/{made['wx.get_forecast']['tool_id']}/versions/1.0.0/export",
        params={"format": "mcp"},
        headers=auth(tenant),
    )
    assert exported.json()["inputSchema"] == spec["input_schema"]


async def test_the_server_url_passes_the_ssrf_guard(service: Service) -> None:
    tenant = uuid4()
    async with serving(weather_server().streamable_http_app()) as port:
        for host in ("127.0.0.1", "localhost"):  # a name resolving inward, too
            r = await service.client.post(
                IMPORT, json={"url": f"http://{host}:{port}/mcp"}, headers=auth(tenant)
            )
            assert problem(r, 422) == ("url_blocked", "url"), host
    metadata = {"url": "http://169.254.169.254/mcp"}
    r = await service.client.post(IMPORT, json=metadata, headers=auth(tenant))
    assert problem(r, 422) == ("url_blocked", "url")
    [row] = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    assert row[0] == 0


async def test_an_unreachable_or_silent_server_is_refused_in_bounded_time(
    service: Service,
) -> None:
    tenant = uuid4()
    closed = _socket()  # bound, never listening: connections are refused
    with settings_of(service, allowed_hosts=("127.0.0.1",)):
        r = await service.client.post(
            IMPORT,
            json={"url": f"http://127.0.0.1:{closed.getsockname()[1]}/mcp"},
            headers=auth(tenant),
        )
    closed.close()
    assert problem(r, 502) == ("mcp_unreachable", "url")
    silent = _socket()
    silent.listen()  # accepts, never answers
    with settings_of(service, allowed_hosts=("127.0.0.1",), mcp_import_timeout=1.0):
        r = await service.client.post(
            IMPORT,
            json={"url": f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"},
            headers=auth(tenant),
        )
    silent.close()
    assert problem(r, 504) == ("mcp_timeout", "url")


def ping() -> str:
    return "pong"


async def test_a_server_listing_past_the_bound_is_refused(service: Service) -> None:
    tenant = uuid4()
    crowded = MCPServer("crowded", warn_on_duplicate_tools=False)
    for i in range(MAX_TOOLS + 1):
        crowded.add_tool(ping, name=f"ping{i}", description="ping")
    async with serving(crowded.streamable_http_app()) as port:
        with settings_of(service, allowed_hosts=("127.0.0.1",)):
            r = await service.client.post(
                IMPORT, json={"url": f"http://127.0.0.1:{port}/mcp"}, headers=auth(tenant)
            )
    assert problem(r, 422) == ("too_many_tools", "url")
    [row] = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    assert row[0] == 0
