"""Search shows an agent or a template at its newest published revision once one is
published, as it shows a tool at its head: a draft revised after it does not turn the
entry into a draft (what planning and execution use is still the published one)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_agents import make_agent
from tests.integration.catalog.test_templates import PHASES, template


async def hit(service: Service, tenant: UUID, kind: str) -> dict[str, Any]:
    r = await service.client.get("/v1/search", params={"kind": kind}, headers=auth(tenant))
    assert r.status_code == 200, r.text
    [found] = r.json()["items"]
    result: dict[str, Any] = found
    return result


async def test_an_agent_revised_after_publishing_is_found_published(service: Service) -> None:
    tenant = uuid4()
    agent_id = (await make_agent(service, tenant))["agent_id"]
    base = f"/v1/agents/{agent_id}/revisions"
    assert (await service.client.post(f"{base}/1/publish", headers=auth(tenant))).is_success
    draft = {"instructions": "You help, in French.", "description": "French helper"}
    made = await service.client.post(base, json=draft, headers=auth(tenant))
    assert made.status_code == 201, made.text
    shown = await hit(service, tenant, "agent")
    assert (shown["status"], shown["version"]) == ("published", "1")
    assert (await service.client.post(f"{base}/2/publish", headers=auth(tenant))).is_success
    shown = await hit(service, tenant, "agent")
    assert (shown["status"], shown["version"], shown["description"]) == (
        "published",
        "2",
        "French helper",
    )
    gone = await service.client.post(f"/v1/agents/{agent_id}/deprecate", headers=auth(tenant))
    assert gone.is_success, gone.text
    assert (await hit(service, tenant, "agent"))["status"] == "deprecated"


async def test_a_template_revised_after_publishing_is_found_published(service: Service) -> None:
    tenant = uuid4()
    made = await template(service, tenant, "leads")
    url = f"/v1/templates/{made['id']}"
    assert (await service.client.post(f"{url}/publish", headers=auth(tenant))).is_success
    changed = {"name": "Leads v2", "phases": PHASES}
    revised = await service.client.put(
        url, json=changed, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert revised.status_code == 200, revised.text
    shown = await hit(service, tenant, "template")
    assert (shown["status"], shown["version"], shown["title"]) == ("published", "1", "Leads")
    assert (await service.client.post(f"{url}/publish", headers=auth(tenant))).is_success
    shown = await hit(service, tenant, "template")
    assert (shown["status"], shown["version"], shown["title"]) == ("published", "2", "Leads v2")
    # never published: the newest draft is what there is
    fresh = await template(service, tenant, "fresh")
    r = await service.client.get("/v1/search", params={"q": "fresh"}, headers=auth(tenant))
    [entry] = [h for h in r.json()["items"] if h["id"] == fresh["id"]]
    assert entry["status"] == "draft"
