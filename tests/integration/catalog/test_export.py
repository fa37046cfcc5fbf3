"""`GET /v1/tools/{id}/versions/{v}/export` through the real app."""

from __future__ import annotations

from uuid import uuid4

import mcp.types

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.tools_support import QUERY, register


async def test_export_as_openai_and_mcp(service: Service) -> None:
    tenant = uuid4()
    view = await register(service, tenant, "web.search")
    url = f"/v1/tools/{view['tool_id']}/versions/1.0.0/export"
    openai = await service.client.get(url, params={"format": "openai"}, headers=auth(tenant))
    assert openai.status_code == 200, openai.text
    assert openai.json() == {
        "type": "function",
        "function": {
            "name": "web_search",
            "description": "web.search: search the web",
            "parameters": QUERY,
        },
    }
    described = await service.client.get(url, params={"format": "mcp"}, headers=auth(tenant))
    assert described.status_code == 200, described.text
    tool = mcp.types.Tool.model_validate(described.json())
    assert (tool.name, tool.input_schema) == ("web.search", QUERY)
    assert tool.output_schema == {"type": "object"}
    assert tool.annotations is not None
    assert tool.annotations.read_only_hint is True
    assert "search-token" not in described.text
    assert "search-token" not in openai.text


async def test_export_refusals(service: Service) -> None:
    tenant = uuid4()
    view = await register(service, tenant, "exported")
    url = f"/v1/tools/{view['tool_id']}/versions"
    bad = await service.client.get(
        f"{url}/1.0.0/export", params={"format": "yaml"}, headers=auth(tenant)
    )
    assert bad.status_code == 422, bad.text
    missing = await service.client.get(
        f"{url}/9.9.9/export", params={"format": "mcp"}, headers=auth(tenant)
    )
    assert missing.status_code == 404, missing.text
    other = await service.client.get(
        f"{url}/1.0.0/export", params={"format": "mcp"}, headers=auth(uuid4())
    )
    assert other.status_code == 404, other.text
