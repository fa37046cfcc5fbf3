"""planning's routes through the real app: what they answer, store and emit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.tenants import TenantFact
from tests.integration.planning.harness import Service, auth
from tests.integration.planning.plans_support import body, step


async def create(service: Service, tenant: UUID, payload: dict[str, Any] | None = None) -> Any:
    made = await service.client.post("/v1/plans", json=payload or body(), headers=auth(tenant))
    assert made.status_code == 201, made.text
    return made


async def outbox(service: Service, tenant: UUID) -> list[str]:
    rows = await service.owner_sql(
        "SELECT type FROM outbox WHERE tenant_id = :t ORDER BY id", t=tenant
    )
    return [r[0] for r in rows]


async def test_a_plan_is_created_as_version_one_and_read_back(service: Service) -> None:
    tenant = uuid4()
    made = await create(service, tenant)
    plan = made.json()
    assert made.headers["location"] == f"/v1/plans/{plan['id']}"
    assert (plan["head"], plan["status"], plan["source"]) == (
        1,
        "draft",
        {"kind": "manual", "id": None},
    )
    read = await service.client.get(made.headers["location"], headers=auth(tenant))
    assert read.status_code == 200
    assert read.headers["etag"] == made.headers["etag"]
    version = await service.client.get(f"/v1/plans/{plan['id']}/versions/1", headers=auth(tenant))
    assert version.status_code == 200, version.text
    assert version.json()["plan"]["phases"][0]["steps"][0]["key"] == "a"
    assert version.json()["reason"] == "first"
    assert await outbox(service, tenant) == ["planning.plan.drafted"]


async def test_a_retry_with_the_same_idempotency_key_creates_nothing_more(
    service: Service,
) -> None:
    tenant, key = uuid4(), {"Idempotency-Key": uuid4().hex}
    headers = auth(tenant, subject=uuid4()) | key
    first = await service.client.post("/v1/plans", json=body(), headers=headers)
    again = await service.client.post("/v1/plans", json=body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    rows = await service.owner_sql("SELECT count(*) FROM plans WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 1


async def test_an_edit_is_the_next_version_with_its_author_and_reason(service: Service) -> None:
    tenant, editor = uuid4(), uuid4()
    made = await create(service, tenant)
    plan_id = made.json()["id"]
    edited = await service.client.put(
        f"/v1/plans/{plan_id}",
        json=body(step("a"), step("b", "a"), reason="add b"),
        headers=auth(tenant, subject=editor) | {"If-Match": made.headers["etag"]},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["head"] == 2
    assert edited.headers["etag"] != made.headers["etag"]
    stale = await service.client.put(
        f"/v1/plans/{plan_id}",
        json=body(reason="lost update"),
        headers=auth(tenant) | {"If-Match": made.headers["etag"]},
    )
    assert stale.status_code == 412, stale.text
    log = await service.client.get(f"/v1/plans/{plan_id}/versions", headers=auth(tenant))
    entries = [(e["version"], e["author"], e["reason"]) for e in log.json()["items"]]
    assert entries[0] == (2, str(editor), "add b")
    assert entries[1][0] == 1
    assert len(entries) == 2
    diff = await service.client.get(
        f"/v1/plans/{plan_id}/diff", params={"from": 1, "to": 2}, headers=auth(tenant)
    )
    assert diff.status_code == 200, diff.text
    assert [(c["op"], c["step"]) for c in diff.json()["changes"]] == [("added", "b")]
    assert await outbox(service, tenant) == ["planning.plan.drafted", "planning.plan.updated"]


async def test_validation_names_each_issue_by_code_and_path(service: Service) -> None:
    tenant = uuid4()
    made = await create(service, tenant, body(step("a", "ghost"), step("a")))
    plan_id = made.json()["id"]
    checked = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/validate", headers=auth(tenant)
    )
    assert checked.status_code == 200, checked.text
    issues = {(i["code"], i["path"]) for i in checked.json()["issues"]}
    assert ("missing_dependency", "phases[0].steps[0].depends_on[0]") in issues
    assert ("duplicate_key", "phases[0].steps[1].key") in issues
    assert checked.json()["valid"] is False
    version = await service.client.get(f"/v1/plans/{plan_id}/versions/1", headers=auth(tenant))
    assert version.json()["validation"]["valid"] is False
    unsaved = await service.client.post(
        "/v1/plans/validate", json=body(step("a", "ghost")), headers=auth(tenant)
    )
    assert unsaved.status_code == 200, unsaved.text
    assert [i["code"] for i in unsaved.json()["issues"]] == ["missing_dependency"]
    assert "planning.plan.validated" in await outbox(service, tenant)


async def test_approval_refuses_a_version_with_errors(service: Service) -> None:
    tenant = uuid4()
    plan_id = (await create(service, tenant, body(step("a", "ghost")))).json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=auth(tenant)
    )
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "plan_invalid"
    assert [i["code"] for i in r.json()["issues"]] == ["missing_dependency"]
    plan = await service.client.get(f"/v1/plans/{plan_id}", headers=auth(tenant))
    assert (plan.json()["status"], plan.json()["approved_version"]) == ("draft", None)
    assert "planning.plan.approved" not in await outbox(service, tenant)


async def test_approval_pins_the_version_and_emits_the_snapshot(service: Service) -> None:
    tenant, approver = uuid4(), uuid4()
    plan_id = (await create(service, tenant)).json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve",
        json={"comment": "ship it"},
        headers=auth(tenant, subject=approver),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["plan"]["status"], r.json()["plan"]["approved_version"]) == ("approved", 1)
    assert r.json()["version"]["approved_by"] == str(approver)
    assert r.json()["version"]["pinned"]["phases"][0]["steps"][0]["key"] == "a"
    rows = await service.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.plan.approved'",
        t=tenant,
    )
    [payload] = [json.loads(r[0])["payload"] for r in rows]
    assert payload["plan"]["plan_id"] == plan_id
    assert payload["approved_by"] == str(approver)


async def test_the_discovery_gate_needs_accept_gaps(service: Service) -> None:
    tenant = uuid4()
    plan_id = (await create(service, tenant)).json()["id"]
    await service.owner_sql("UPDATE plans SET gaps = true WHERE id = :p", p=UUID(plan_id))
    url = f"/v1/plans/{plan_id}/versions/1/approve"
    refused = await service.client.post(url, json={}, headers=auth(tenant))
    assert (refused.status_code, refused.json()["code"]) == (409, "gaps_not_accepted")
    accepted = await service.client.post(url, json={"accept_gaps": True}, headers=auth(tenant))
    assert accepted.status_code == 200, accepted.text


async def test_a_label_moves_only_to_approved_versions_and_rolls_back(service: Service) -> None:
    tenant = uuid4()
    plan_id = (await create(service, tenant)).json()["id"]
    edit = body(step("a"), step("b", "a"), reason="v2")
    assert (
        await service.client.put(f"/v1/plans/{plan_id}", json=edit, headers=auth(tenant))
    ).status_code == 200
    label = f"/v1/plans/{plan_id}/labels/production"
    early = await service.client.put(label, json={"version": 1}, headers=auth(tenant))
    assert (early.status_code, early.json()["code"]) == (409, "version_not_approved")
    for v in (1, 2):
        a = await service.client.post(
            f"/v1/plans/{plan_id}/versions/{v}/approve", json={}, headers=auth(tenant)
        )
        assert a.status_code == 200, a.text
    first = await service.client.put(
        label, json={"version": 2, "reason": "go"}, headers=auth(tenant)
    )
    assert first.status_code == 200, first.text
    back = await service.client.put(
        label,
        json={"version": 1, "reason": "rollback"},
        headers=auth(tenant) | {"If-Match": first.headers["etag"]},
    )
    assert back.status_code == 200, back.text
    late = await service.client.put(
        label, json={"version": 2}, headers=auth(tenant) | {"If-Match": first.headers["etag"]}
    )
    assert late.status_code == 412, late.text
    plan = await service.client.get(f"/v1/plans/{plan_id}", headers=auth(tenant))
    assert plan.json()["labels"] == {"production": 1}
    gone = await service.client.delete(label, headers=auth(tenant))
    assert gone.status_code == 204, gone.text
    moves = await service.client.get(f"{label}/moves", headers=auth(tenant))
    assert [(m["from_version"], m["to_version"], m["reason"]) for m in moves.json()["items"]] == [
        (None, 2, "go"),
        (2, 1, "rollback"),
        (1, None, None),
    ]
    events = await outbox(service, tenant)
    assert events.count("planning.label.moved") == 3


async def test_an_archived_plan_is_not_edited(service: Service) -> None:
    tenant = uuid4()
    plan_id = (await create(service, tenant)).json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/archive", json={"reason": "old"}, headers=auth(tenant)
    )
    assert (r.status_code, r.json()["status"]) == (200, "archived")
    edit = await service.client.put(f"/v1/plans/{plan_id}", json=body(), headers=auth(tenant))
    assert (edit.status_code, edit.json()["code"]) == (409, "plan_archived")
    assert (await outbox(service, tenant))[-1] == "planning.plan.archived"


async def test_plans_are_listed_in_pages_and_filtered(service: Service) -> None:
    tenant = uuid4()
    ids = [(await create(service, tenant)).json()["id"] for _ in range(3)]
    seen: list[str] = []
    url: str | None = "/v1/plans?limit=2"
    while url is not None:
        page = await service.client.get(url, headers=auth(tenant))
        assert page.status_code == 200, page.text
        seen += [p["id"] for p in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        url = None if cursor is None else f"/v1/plans?limit=2&cursor={cursor}"
    assert seen == ids
    drafts = await service.client.get("/v1/plans?status=approved", headers=auth(tenant))
    assert drafts.json()["items"] == []


async def test_a_suspended_tenant_may_not_create(service: Service) -> None:
    tenant = uuid4()
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.tenants.apply(tenant, TenantFact(TenantStatus.SUSPENDED, datetime.now(UTC)))
        await uow.commit()
    r = await service.client.post("/v1/plans", json=body(), headers=auth(tenant))
    assert (r.status_code, r.json()["code"]) == (409, "tenant_inactive")
    rows = await service.owner_sql("SELECT count(*) FROM plans WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_every_route_needs_its_capability(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post("/v1/plans", json=body(), headers=auth(tenant, ["plans:read"]))
    assert r.status_code == 403, r.text
    plan_id = (await create(service, tenant)).json()["id"]
    r = await service.client.post(
        f"/v1/plans/{plan_id}/versions/1/approve",
        json={},
        headers=auth(tenant, ["plans:read", "plans:write"]),
    )
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/plans/{uuid4()}", headers=auth(tenant, []))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/plans/{uuid4()}")
    assert r.status_code == 401, r.text


async def test_concurrent_edits_each_make_their_own_version(service: Service) -> None:
    tenant = uuid4()
    plan_id = (await create(service, tenant)).json()["id"]
    replies = await asyncio.gather(
        *(
            service.client.put(
                f"/v1/plans/{plan_id}", json=body(reason=f"edit {n}"), headers=auth(tenant)
            )
            for n in range(5)
        )
    )
    assert [r.status_code for r in replies] == [200] * 5, [r.text for r in replies]
    rows = await service.owner_sql(
        "SELECT version, reason FROM plan_versions WHERE plan_id = :p ORDER BY version",
        p=UUID(plan_id),
    )
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert sorted(r[1] for r in rows[1:]) == [f"edit {n}" for n in range(5)]
    plan = await service.client.get(f"/v1/plans/{plan_id}", headers=auth(tenant))
    assert plan.json()["head"] == 6
