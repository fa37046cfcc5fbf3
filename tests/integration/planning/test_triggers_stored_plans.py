"""Triggers against plans made through planning's own routes: deliveries resolved by the
real `StoredPlans` (no stand-in), a pinned version, a label read at each delivery, a stale
and an archived plan refused and recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_planning.plan_targets import StoredPlans
from tests.integration.planning.harness import Service, auth, create_db, make_settings, running
from tests.integration.planning.plans_support import body, step
from tests.integration.planning.test_triggers import hook, problem, publish
from tests.integration.planning.triggers_support import SEALING


@pytest.fixture(scope="module")
async def svc(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    db: ServiceDb = await create_db(pg_admin_url, tmp_path_factory.mktemp("trig-real") / "pw.json")
    settings = make_settings(db.url(pg_admin_url), kafka_bootstrap, **SEALING)
    try:
        async with running(settings, db, pg_admin_url) as started:
            assert isinstance(started.deps.plan_targets, StoredPlans)  # the real plan state
            yield started
    finally:
        await deprovision(pg_admin_url, [db])


async def two_approved_versions(svc: Service, tenant: UUID) -> str:
    """A plan made, edited, validated and approved through the routes: versions 1 and 2."""
    made = await svc.client.post("/v1/plans", json=body(reason="v1"), headers=auth(tenant))
    assert made.status_code == 201, made.text
    plan_id = str(made.json()["id"])
    edit = body(step("a"), step("b", "a"), reason="v2")
    edited = await svc.client.put(f"/v1/plans/{plan_id}", json=edit, headers=auth(tenant))
    assert edited.status_code == 200, edited.text
    for v in (1, 2):
        checked = await svc.client.post(
            f"/v1/plans/{plan_id}/versions/{v}/validate", headers=auth(tenant)
        )
        assert (checked.status_code, checked.json()["valid"]) == (200, True), checked.text
        approved = await svc.client.post(
            f"/v1/plans/{plan_id}/versions/{v}/approve", json={}, headers=auth(tenant)
        )
        assert approved.status_code == 200, approved.text
    return plan_id


async def fired(svc: Service, tenant: UUID) -> list[dict[str, Any]]:
    rows = await svc.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'planning.trigger.fired' "
        "ORDER BY id",
        t=tenant,
    )
    return [json.loads(bytes(r[0]))["payload"] for r in rows]


async def test_a_label_is_read_at_each_delivery_and_a_pin_holds(svc: Service) -> None:
    tenant = uuid4()
    plan_id = await two_approved_versions(svc, tenant)
    label = f"/v1/plans/{plan_id}/labels/production"
    put = await svc.client.put(label, json={"version": 1, "reason": "go"}, headers=auth(tenant))
    assert put.status_code == 200, put.text
    by_label = await publish(svc, tenant, plan_id=plan_id, label="production")
    pinned = await publish(svc, tenant, plan_id=plan_id, plan_version=1)
    first = await hook(svc, by_label, by_label["secret"], {"n": 1})
    assert (first.status_code, first.json()["plan_version"]) == (202, 1), first.text
    moved = await svc.client.put(
        label,
        json={"version": 2, "reason": "promote"},
        headers=auth(tenant) | {"If-Match": put.headers["etag"]},
    )
    assert moved.status_code == 200, moved.text
    second = await hook(svc, by_label, by_label["secret"], {"n": 2})
    assert (second.status_code, second.json()["plan_version"]) == (202, 2), second.text
    held = await hook(svc, pinned, pinned["secret"], {"n": 3})
    assert (held.status_code, held.json()["plan_version"]) == (202, 1), held.text
    assert [(p["plan_version"], p["inputs"]) for p in await fired(svc, tenant)] == [
        (1, {"n": 1}),
        (2, {"n": 2}),
        (1, {"n": 3}),
    ]


async def test_an_unapproved_version_a_stale_and_an_archived_plan_are_refused(
    svc: Service,
) -> None:
    tenant = uuid4()
    plan_id = await two_approved_versions(svc, tenant)
    edit = body(step("a"), step("c", "a"), reason="v3, not approved")
    assert (
        await svc.client.put(f"/v1/plans/{plan_id}", json=edit, headers=auth(tenant))
    ).status_code == 200
    draft = await publish(svc, tenant, plan_id=plan_id, plan_version=3)
    problem(await hook(svc, draft, draft["secret"], {"n": 0}), 409, "version_not_approved")
    pinned = await publish(svc, tenant, plan_id=plan_id, plan_version=2)
    # drift as the drift consumer records it: the plan row marked stale
    await svc.owner_sql("UPDATE plans SET stale = true WHERE id = :p", p=UUID(plan_id))
    problem(await hook(svc, pinned, pinned["secret"], {"n": 1}), 409, "plan_stale")
    await svc.owner_sql("UPDATE plans SET stale = false WHERE id = :p", p=UUID(plan_id))
    ok = await hook(svc, pinned, pinned["secret"], {"n": 2})
    assert ok.status_code == 202, ok.text
    archived = await svc.client.post(
        f"/v1/plans/{plan_id}/archive", json={"reason": "old"}, headers=auth(tenant)
    )
    assert archived.status_code == 200, archived.text
    problem(await hook(svc, pinned, pinned["secret"], {"n": 3}), 409, "plan_archived")
    refused = await svc.owner_sql(
        "SELECT reason FROM deliveries WHERE tenant_id = :t AND state = 'refused' ORDER BY at",
        t=tenant,
    )
    assert [r for (r,) in refused] == ["version_not_approved", "plan_stale", "plan_archived"]
    assert [p["inputs"] for p in await fired(svc, tenant)] == [{"n": 2}]
