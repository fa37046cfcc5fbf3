"""Search through the real app: full text and fuzzy names, filters, ranking, cursor pages,
and only what the caller may read."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_tasks import group, task
from tests.integration.catalog.test_templates import template
from tests.integration.catalog.tools_support import published, register, tool_body


async def test_search_ranks_filters_and_pages(service: Service) -> None:
    tenant = uuid4()
    await published(service, tenant, "web.search")
    made = await service.client.post(
        "/v1/tools",
        json=tool_body(
            "pdf.reader",
            description="Reads invoices out of PDF documents",
            category="files",
            tags=["pdf"],
        ),
        headers=auth(tenant),
    )
    assert made.status_code == 201, made.text
    await group(service, tenant, "research")
    await task(service, tenant, "invoice.check", "research")
    await template(service, tenant, "leads")

    async def names(query: str) -> list[str]:
        r = await service.client.get(f"/v1/search?{query}", headers=auth(tenant))
        assert r.status_code == 200, r.text
        return [hit["name"] for hit in r.json()["items"]]

    # a word in the name (invoice.check) weighs more than in a description (pdf.reader)
    assert await names("q=invoices") == ["invoice.check", "pdf.reader"]
    assert await names("q=serch") == ["web.search"]  # a misspelt name, by trigrams
    assert await names("q=invoices&kind=task") == ["invoice.check"]
    assert await names("category=files") == ["pdf.reader"]
    assert await names("status=published") == ["web.search"]
    assert await names("tag=pdf") == ["pdf.reader"]
    assert await names("tag=web&tag=search") == ["web.search"]
    assert await names("q=nothing+like+this") == []

    first = await service.client.get("/v1/search?limit=2", headers=auth(tenant))
    seen = [h["name"] for h in first.json()["items"]]
    cursor = first.json()["next_cursor"]
    while cursor:
        page = await service.client.get(f"/v1/search?limit=2&cursor={cursor}", headers=auth(tenant))
        seen += [h["name"] for h in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert sorted(seen) == ["invoice.check", "leads", "pdf.reader", "web.search"]

    other = await service.client.get("/v1/search?q=invoices", headers=auth(uuid4()))
    assert other.json()["items"] == []


async def test_search_shows_only_the_kinds_the_caller_may_read(service: Service) -> None:
    tenant = uuid4()
    await register(service, tenant, "only.tool")
    await task(service, tenant, "only.task")
    r = await service.client.get("/v1/search", headers=auth(tenant, ["tasks:read"]))
    assert [h["kind"] for h in r.json()["items"]] == ["task"]
    r = await service.client.get("/v1/search", headers=auth(tenant, ["tools:write"]))
    assert r.status_code == 403
    long = await service.client.get("/v1/search?q=" + "x" * 201, headers=auth(tenant))
    assert long.status_code == 422
