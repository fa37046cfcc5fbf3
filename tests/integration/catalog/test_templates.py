"""Templates through the real app: revisions under If-Match, published ones immutable,
the events planning consumes."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from tests.integration.catalog.harness import Service, auth

PHASES = [
    {
        "key": "find",
        "name": "Find leads",
        "steps": [
            {"key": "search", "name": "search", "kind": "tool", "tool": {"tool": "web.search"}}
        ],
    }
]


async def template(service: Service, tenant: UUID, key: str) -> dict[str, Any]:
    body = {
        "key": key,
        "name": "Leads",
        "kind": "sales",
        "tags": ["crm"],
        "parameters_schema": {"type": "object", "properties": {"region": {"type": "string"}}},
        "phases": PHASES,
    }
    made = await service.client.post("/v1/templates", json=body, headers=auth(tenant))
    assert made.status_code == 201, made.text
    view: dict[str, Any] = made.json()
    return view


async def test_a_published_revision_never_changes(service: Service) -> None:
    tenant = uuid4()
    made = await template(service, tenant, "leads")
    url = f"/v1/templates/{made['id']}"
    done = await service.client.post(f"{url}/publish", headers=auth(tenant))
    assert (done.status_code, done.json()["status"]) == (200, "published"), done.text
    changed = {"name": "Leads v2", "phases": [*PHASES, {**PHASES[0], "key": "more"}]}
    revised = await service.client.put(
        url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert (revised.status_code, revised.json()["version"]) == (200, 2), revised.text
    assert revised.json()["status"] == "draft"
    first = await service.client.get(f"{url}/revisions/1", headers=auth(tenant))
    assert first.json()["status"] == "published"
    assert first.json()["spec"] == made["spec"]
    stale = await service.client.put(url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'})
    assert stale.status_code == 412


async def test_a_step_without_its_kinds_block_is_a_422(service: Service) -> None:
    steps = [{"key": "x", "name": "x", "kind": "tool"}]
    body = {"key": "bad", "name": "Bad", "phases": [{**PHASES[0], "steps": steps}]}
    r = await service.client.post("/v1/templates", json=body, headers=auth(uuid4()))
    assert r.status_code == 422, r.text
