"""Approval against what the feeds projected: a floating tool version is pinned to the
catalog's latest in the emitted snapshot, an unknown tool is refused, and a forecast of
past runs over the plan's budget is refused (a warning when only validated)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.discovery import ExtractionKind, ExtractionRecorded, Relation
from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1
from tests.integration.planning.feeds_support import applied, at, envelope
from tests.integration.planning.harness import Service, auth, send
from tests.integration.planning.plans_support import body, step


def tool_step(key: str, tool: str) -> dict[str, Any]:
    return {"key": key, "name": key, "kind": "tool", "tool": {"tool": tool, "input": {}}}


async def approved_payload(service: Service, tenant: UUID) -> dict[str, Any]:
    rows = await service.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.plan.approved'",
        t=tenant,
    )
    [payload] = [json.loads(r[0])["payload"] for r in rows]
    return dict(payload)


async def test_a_floating_tool_version_is_pinned_to_the_latest_published(
    service: Service,
) -> None:
    tenant, tool_id, now = uuid4(), uuid4(), datetime.now(UTC)
    async with service.deps.runtime.uow(tenant) as uow:
        for version in ("1.0.0", "1.1.0"):
            await uow.catalog.add_tool_version("web.fetch", version, tool_id, {}, now)
        await uow.catalog.put_tool_head("web.fetch", tool_id, "1.1.0", False, now)
        await uow.commit()
    made = await service.client.post(
        "/v1/plans", json=body(tool_step("fetch", "web.fetch")), headers=auth(tenant)
    )
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text
    pinned = r.json()["version"]["pinned"]["phases"][0]["steps"][0]["tool"]
    assert pinned["version"] == "1.1.0"
    stored = r.json()["version"]["plan"]["phases"][0]["steps"][0]["tool"]
    assert stored["version"] is None
    payload = await approved_payload(service, tenant)
    assert payload["plan"]["phases"][0]["steps"][0]["tool"]["version"] == "1.1.0"


async def test_an_unknown_tool_is_named_and_refused(service: Service) -> None:
    tenant = uuid4()
    made = await service.client.post(
        "/v1/plans", json=body(step("a"), tool_step("b", "no.such")), headers=auth(tenant)
    )
    plan_id = made.json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert (r.status_code, r.json()["code"]) == (409, "plan_invalid")
    assert [(i["code"], i["path"]) for i in r.json()["issues"]] == [
        ("unknown_tool", "phases[0].steps[1].tool.tool")
    ]


async def test_a_forecast_over_budget_warns_then_refuses_approval(service: Service) -> None:
    tenant = uuid4()
    plan = body() | {"budget": {"max_cost": {"amount_micros": 1_000, "currency": "USD"}}}
    made = await service.client.post("/v1/plans", json=plan, headers=auth(tenant))
    assert made.status_code == 201, made.text
    plan_id = UUID(made.json()["id"])
    now = datetime.now(UTC)
    async with service.deps.runtime.uow(tenant) as uow:
        for _ in range(6):
            run = uuid4()
            await uow.runs.started(run, plan_id, 1, None, "api", now)
            await uow.runs.state(run, "finished", 5_000, now + timedelta(seconds=1))
        await uow.commit()
    checked = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/validate", headers=auth(tenant)
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["valid"] is True
    assert checked.json()["forecast"]["p95"]["amount_micros"] == 5_000
    assert [i["code"] for i in checked.json()["issues"]] == ["over_budget"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert (r.status_code, r.json()["code"]) == (409, "over_budget")
    rows = await service.owner_sql("SELECT approved_version FROM plans WHERE id = :p", p=plan_id)
    assert rows[0][0] is None


async def test_a_contradicted_requirement_marks_the_plan_stale_until_reapproved(
    service: Service,
) -> None:
    tenant, session, cited = uuid4(), uuid4(), uuid4()
    requirement = {"key": "budget", "session_id": str(session), "extraction_id": str(cited)}
    plan = body() | {"requirements": [requirement]}
    made = await service.client.post("/v1/plans", json=plan, headers=auth(tenant))
    plan_id = made.json()["id"]
    approve = f"/v1/plans/{plan_id}/versions/1/approve"
    assert (await service.client.post(approve, json={}, headers=auth(tenant))).status_code == 200
    contradiction = ExtractionRecorded(
        session_id=session,
        extraction_id=uuid4(),
        turn_id=uuid4(),
        obligation="budget",
        value="more",
        confidence=0.9,
        kind=ExtractionKind.FACT,
        relation=Relation.CONTRADICTS,
        supersedes=cited,
        applied=True,
    )
    event = envelope("discovery", contradiction, tenant, at(1))
    await send(service.kafka, DISCOVERY_SESSIONS_V1, [event])
    await applied(service, "planning.drift", [event])
    read = await service.client.get(f"/v1/plans/{plan_id}", headers=auth(tenant))
    assert read.json()["stale"] is True
    again = await service.client.post(approve, json={}, headers=auth(tenant))
    assert again.status_code == 200, again.text
    assert again.json()["plan"]["stale"] is False
    async with service.deps.runtime.uow(tenant) as uow:
        assert not await uow.citations.stale(UUID(plan_id))
