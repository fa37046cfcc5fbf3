"""Both import routes honour `Idempotency-Key` (SERVICE_STANDARD: every POST that creates
something): a retry gets the first report, marked replayed, instead of a report that
skips everything the first one created; the same key on another request is a 422."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_import_mcp import serving, settings_of, weather_server
from tests.integration.catalog.test_import_openapi import IMPORT, YAML, tool_count
from tests.unit.catalog.openapi_docs import PETSTORE_30


async def test_an_openapi_import_retried_with_its_key_gets_the_first_report(
    service: Service,
) -> None:
    tenant = uuid4()
    headers = auth(tenant) | YAML | {"Idempotency-Key": "import-1"}
    document = PETSTORE_30.read_bytes()
    first = await service.client.post(IMPORT, content=document, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 3
    again = await service.client.post(IMPORT, content=document, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await tool_count(service, tenant) == 3
    other = await service.client.post(
        IMPORT, content=document, params={"prefix": "b."}, headers=headers
    )
    assert other.status_code == 422, other.text
    assert await tool_count(service, tenant) == 3


async def test_an_mcp_import_retried_with_its_key_gets_the_first_report(
    service: Service,
) -> None:
    tenant = uuid4()
    headers = auth(tenant) | {"Idempotency-Key": "mcp-1"}
    async with serving(weather_server().streamable_http_app()) as port:
        body = {"url": f"http://127.0.0.1:{port}/mcp", "prefix": "wx."}
        with settings_of(service, allowed_hosts=("127.0.0.1",)):
            first = await service.client.post("/v1/tools/import/mcp", json=body, headers=headers)
            assert first.status_code == 200, first.text
            assert first.json()["created"] == 2
            again = await service.client.post("/v1/tools/import/mcp", json=body, headers=headers)
            other = await service.client.post(
                "/v1/tools/import/mcp", json=body | {"prefix": "x."}, headers=headers
            )
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert other.status_code == 422, other.text
    assert await tool_count(service, tenant) == 2
