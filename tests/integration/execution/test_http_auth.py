"""An `http` tool's credential as each `auth` scheme presents it (bearer, basic, header,
query) at a real local server, and masked when the tool answers it back or fails."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.tools import Call, Toolbox, ToolError
from agentsuite_execution.tools.credentials import Credential
from tests.integration.execution.test_http_tool import settings

VALUE = "cred-4b1d7e90-very-secret"


@pytest.fixture
async def echo_server() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        seen = {
            "authorization": request.headers.get("Authorization"),
            "x_api_key": request.headers.get("X-Api-Key"),
            "query": dict(request.query),
        }
        status = 403 if request.path == "/deny" else 200
        return web.json_response(seen, status=status)

    app = web.Application()
    app.router.add_route("*", "/{path}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def box() -> AsyncIterator[Toolbox]:
    toolbox = Toolbox(settings(allowed_hosts=("127.0.0.1",)))
    yield toolbox
    await toolbox.aclose()


def call(url: str, credential: Credential) -> Call:
    return Call(
        binding=ToolBinding(kind=BindingKind.HTTP, target=url),
        input={"q": 1},
        key="k",
        attempt=1,
        timeout=10.0,
        execution_id=uuid.uuid4(),
        step="s",
        credential=credential,
    )


@pytest.mark.parametrize(
    ("scheme", "name", "where", "sent"),
    [
        ("bearer", None, "authorization", f"Bearer {VALUE}"),
        ("basic", None, "authorization", "Basic " + base64.b64encode(VALUE.encode()).decode()),
        ("header", "X-Api-Key", "x_api_key", VALUE),
        ("query", "api_key", "query", {"page": "2", "api_key": VALUE}),
    ],
)
async def test_each_scheme_presents_the_value_and_the_output_masks_it(
    box: Toolbox, echo_server: str, scheme: str, name: str | None, where: str, sent: object
) -> None:
    credential = Credential(scheme=scheme, secret_name="s", value=VALUE, name=name)
    output = await box.invoke(call(f"{echo_server}/hook?page=2", credential))
    # the server saw it (the masked echo still has the shape of what was sent)
    assert output[where] != ({} if where == "query" else None)
    assert VALUE not in str(output)
    if isinstance(sent, str):
        assert output[where] == "***"
    else:
        assert output[where] == {"page": "2", "api_key": "***"}


async def test_a_refusal_quoting_the_credential_is_masked(box: Toolbox, echo_server: str) -> None:
    credential = Credential(scheme="bearer", secret_name="s", value=VALUE)
    with pytest.raises(ToolError) as refused:
        await box.invoke(call(f"{echo_server}/deny", credential))
    assert refused.value.details["status"] == 403
    assert VALUE not in str(refused.value.details)
    assert VALUE not in refused.value.message
