"""Approving again: a version's pinned snapshot is what execution runs under its number, so
a second approval of an approved version neither re-pins it nor announces it again; and
approving an older version does not clear the drift of the newest approved one."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from tests.integration.planning.harness import Service, auth
from tests.integration.planning.plans_support import body, step


def tool_step(key: str, tool: str) -> dict[str, Any]:
    return {"key": key, "name": key, "kind": "tool", "tool": {"tool": tool, "input": {}}}


async def approvals(service: Service, tenant: UUID) -> list[dict[str, Any]]:
    rows = await service.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.plan.approved'",
        t=tenant,
    )
    return [json.loads(r[0])["payload"] for r in rows]


async def publish(service: Service, tenant: UUID, tool_id: UUID, version: str, at: Any) -> None:
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.catalog.add_tool_version("web.fetch", version, tool_id, {}, at)
        await uow.catalog.put_tool_head("web.fetch", tool_id, version, False, at)
        await uow.commit()


async def test_an_approved_version_is_pinned_and_announced_once(service: Service) -> None:
    tenant, tool_id, now = uuid4(), uuid4(), datetime.now(UTC)
    await publish(service, tenant, tool_id, "1.0.0", now)
    made = await service.client.post(
        "/v1/plans", json=body(tool_step("fetch", "web.fetch")), headers=auth(tenant)
    )
    url = f"/v1/plans/{made.json()['id']}/versions/1/approve"
    first = await service.client.post(url, json={}, headers=auth(tenant))
    assert first.status_code == 200, first.text
    await publish(service, tenant, tool_id, "2.0.0", now + timedelta(seconds=1))
    again = await asyncio.gather(
        *(service.client.post(url, json={}, headers=auth(tenant)) for _ in range(4))
    )
    assert [r.status_code for r in again] == [200] * 4, [r.text[:200] for r in again]
    pinned = {
        r.json()["version"]["pinned"]["phases"][0]["steps"][0]["tool"]["version"] for r in again
    }
    assert pinned == {"1.0.0"}
    assert len(await approvals(service, tenant)) == 1


async def test_approving_an_older_version_keeps_the_newest_stale(service: Service) -> None:
    tenant = uuid4()
    made = await service.client.post("/v1/plans", json=body(step("a")), headers=auth(tenant))
    plan_id = made.json()["id"]
    url = f"/v1/plans/{plan_id}"
    edited = await service.client.put(url, json=body(step("a"), step("b")), headers=auth(tenant))
    assert edited.status_code == 200, edited.text
    for v in (1, 2):
        r = await service.client.post(f"{url}/versions/{v}/approve", json={}, headers=auth(tenant))
        assert r.status_code == 200, r.text
    # what the drift consumer does when version 2 cites a contradicted requirement
    await service.owner_sql("UPDATE plans SET stale = true WHERE id = :p", p=UUID(plan_id))
    older = await service.client.post(f"{url}/versions/1/approve", json={}, headers=auth(tenant))
    assert older.status_code == 200, older.text
    plan = (await service.client.get(url, headers=auth(tenant))).json()
    assert (plan["approved_version"], plan["stale"]) == (2, True)
