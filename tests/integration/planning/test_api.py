"""planning's routes through the real app: what they answer and what they store."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.tenants import TenantFact
from tests.integration.planning.harness import Service, auth


async def test_an_item_is_created_and_read_back(service: Service) -> None:
    tenant = uuid4()
    made = await service.client.post("/v1/items", json={"name": " first "}, headers=auth(tenant))
    assert made.status_code == 201, made.text
    item = made.json()
    assert made.headers["location"] == f"/v1/items/{item['id']}"
    read = await service.client.get(made.headers["location"], headers=auth(tenant))
    assert (read.status_code, read.json()) == (200, {"id": item["id"], "name": "first"})


async def test_a_retry_with_the_same_idempotency_key_creates_nothing_more(
    service: Service,
) -> None:
    tenant, key = uuid4(), {"Idempotency-Key": uuid4().hex}
    headers = auth(tenant, subject=uuid4()) | key
    first = await service.client.post("/v1/items", json={"name": "once"}, headers=headers)
    again = await service.client.post("/v1/items", json={"name": "once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    rows = await service.owner_sql("SELECT count(*) FROM items WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 1


async def test_a_blank_name_is_a_422_naming_the_field(service: Service) -> None:
    r = await service.client.post("/v1/items", json={"name": "   "}, headers=auth(uuid4()))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.json()["field"]) == ("name_blank", "name")


async def test_a_suspended_tenant_may_not_create(service: Service) -> None:
    tenant = uuid4()
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.tenants.apply(tenant, TenantFact(TenantStatus.SUSPENDED, datetime.now(UTC)))
        await uow.commit()
    r = await service.client.post("/v1/items", json={"name": "x"}, headers=auth(tenant))
    assert (r.status_code, r.json()["code"]) == (409, "tenant_inactive")
    rows = await service.owner_sql("SELECT count(*) FROM items WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_every_route_needs_its_capability(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post("/v1/items", json={"name": "x"}, headers=auth(tenant, []))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/items/{uuid4()}", headers=auth(tenant, []))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/items/{uuid4()}")
    assert r.status_code == 401, r.text


async def test_a_body_past_the_limit_is_a_413_before_it_is_read(service: Service) -> None:
    tenant = uuid4()
    big = {"name": "x" * service.app.state.deps.settings.max_request_bytes}
    r = await service.client.post("/v1/items", json=big, headers=auth(tenant))
    assert (r.status_code, r.json()["code"]) == (413, "body_too_large")
