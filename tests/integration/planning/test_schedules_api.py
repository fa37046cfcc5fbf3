"""Schedule routes through the real app: create (idempotent), read, list, edit and delete
with If-Match, capabilities, other tenants, and hostile specs answered 422 naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.planning.harness import Service
from tests.integration.planning.schedules_support import auth, make, plan


def daily(plan_id: str, change: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return {"plan_id": plan_id, "plan_version": 1, "cron": "0 9 * * *"} | kw | (change or {})


async def outbox_types(service: Service, schedule_id: str) -> list[str]:
    rows = await service.owner_sql(
        "SELECT type FROM outbox WHERE key = :k ORDER BY id", k=schedule_id
    )
    return [r[0] for r in rows]


async def test_a_schedule_is_created_read_edited_and_deleted(service: Service) -> None:
    tenant = uuid4()
    made = await make(
        service, tenant, **daily(await plan(service, tenant), timezone="Europe/Berlin")
    )
    next_run = datetime.fromisoformat(made["next_run_at"])
    assert next_run.astimezone(UTC) > datetime.now(UTC)
    got = await service.client.get(f"/v1/schedules/{made['id']}", headers=auth(tenant))
    assert (got.status_code, got.json()["spec"]["cron"]) == (200, "0 9 * * *")
    etag = got.headers["etag"]

    stale = await service.client.patch(
        f"/v1/schedules/{made['id']}",
        json={"cron": "0 10 * * *"},
        headers=auth(tenant) | {"If-Match": '"99"'},
    )
    assert stale.status_code == 412, stale.text
    missing = await service.client.patch(
        f"/v1/schedules/{made['id']}", json={"cron": "0 10 * * *"}, headers=auth(tenant)
    )
    assert missing.status_code == 428, missing.text
    edited = await service.client.patch(
        f"/v1/schedules/{made['id']}",
        json={"cron": None, "interval_seconds": 3600},
        headers=auth(tenant) | {"If-Match": etag},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["spec"]["interval_seconds"] == 3600
    assert edited.json()["version"] == 2

    gone = await service.client.delete(
        f"/v1/schedules/{made['id']}", headers=auth(tenant) | {"If-Match": edited.headers["etag"]}
    )
    assert gone.status_code == 204, gone.text
    again = await service.client.get(f"/v1/schedules/{made['id']}", headers=auth(tenant))
    assert again.status_code == 404
    assert await outbox_types(service, made["id"]) == [
        "planning.schedule.created",
        "planning.schedule.updated",
        "planning.schedule.deleted",
    ]
    jobs = await service.owner_sql("SELECT state FROM jobs WHERE key LIKE :k", k=f"{made['id']}/%")
    assert {r[0] for r in jobs} == {"cancelled"}


async def test_a_retried_create_with_its_idempotency_key_makes_one_schedule(
    service: Service,
) -> None:
    tenant = uuid4()
    headers = auth(tenant) | {"Idempotency-Key": uuid4().hex}
    body = daily(await plan(service, tenant))
    first = await service.client.post("/v1/schedules", json=body, headers=headers)
    again = await service.client.post("/v1/schedules", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    rows = await service.owner_sql("SELECT count(*) FROM schedules WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 1


async def test_schedules_are_listed_a_page_at_a_time(service: Service) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant)
    ids = [(await make(service, tenant, **daily(plan_id)))["id"] for _ in range(3)]
    seen: list[str] = []
    url = "/v1/schedules?limit=2"
    while True:
        page = await service.client.get(url, headers=auth(tenant))
        assert page.status_code == 200, page.text
        seen += [s["id"] for s in page.json()["items"]]
        if not page.json()["next_cursor"]:
            break
        url = f"/v1/schedules?limit=2&cursor={page.json()['next_cursor']}"
    assert seen == ids


PAST = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),
        ({"cron": "0 9 * * *\u0000"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": "UTC\u0000"}, "timezone"),
        ({"cron": None, "interval_seconds": 10**12}, "interval_seconds"),
        ({"cron": None, "interval_seconds": 10**40}, "interval_seconds"),
        ({"cron": None, "interval_seconds": 0}, "interval_seconds"),
        ({"cron": None, "at": PAST}, "at"),
        ({"cron": None, "at": "2030-01-01T00:00:00"}, "at"),
        ({"cron": None}, "cron"),
        ({"plan_version": None}, "plan_version"),
        ({"label": "production"}, "plan_version"),
        ({"plan_version": None, "label": "Not A Label"}, "label"),
        ({"plan_version": None, "label": "ok\u0000"}, "label"),
        ({"inputs": {"x": "a\u0000b"}}, "inputs.x"),
        ({"overlap": "sometimes"}, "overlap"),
        ({"bogus": 1}, "bogus"),
        ({"plan_id": str(uuid4())}, "plan_id"),
    ],
)
async def test_a_hostile_spec_is_a_422_naming_the_field(
    service: Service, change: dict[str, Any], field: str
) -> None:
    tenant = uuid4()
    spec = daily(await plan(service, tenant, approve=False), change)
    r = await service.client.post("/v1/schedules", json=spec, headers=auth(tenant))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    named = problem.get("field") or ".".join(str(p) for p in problem["errors"][0]["loc"][1:])
    assert named == field, problem
    rows = await service.owner_sql("SELECT count(*) FROM schedules WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_reads_need_plans_read_and_writes_schedules_write(service: Service) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant)
    r = await service.client.post(
        "/v1/schedules", json=daily(plan_id), headers=auth(tenant, ["plans:read"])
    )
    assert r.status_code == 403, r.text
    made = await make(service, tenant, **daily(plan_id))
    r = await service.client.get(
        f"/v1/schedules/{made['id']}", headers=auth(tenant, ["schedules:write"])
    )
    assert r.status_code == 403, r.text
    r = await service.client.get(
        f"/v1/schedules/{made['id']}/slots", headers=auth(tenant, ["plans:read"])
    )
    assert r.status_code == 200, r.text


async def test_another_tenant_finds_no_schedule_and_changes_none(service: Service) -> None:
    a, b = uuid4(), uuid4()
    made = await make(service, a, **daily(await plan(service, a)))
    url = f"/v1/schedules/{made['id']}"
    version = {"If-Match": '"1"'}
    for method, path, body in [
        ("GET", url, None),
        ("GET", f"{url}/slots", None),
        ("PATCH", url, {"enabled": False}),
        ("DELETE", url, None),
    ]:
        r = await service.client.request(method, path, json=body, headers=auth(b) | version)
        assert r.status_code == 404, f"{method} {path}: {r.text}"
    rows = await service.owner_sql(
        "SELECT version, spec->>'enabled' FROM schedules WHERE id = :s", s=UUID(made["id"])
    )
    assert [tuple(r) for r in rows] == [(1, "true")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "0 25 * * *"}, "cron"),
        ({"timezone": "Nowhere/City"}, "timezone"),
        ({"interval_seconds": 5}, "cron"),  # two timings: the old cron is still there
        ({"plan_id": str(uuid4())}, "plan_id"),
        ({"label": "prod", "plan_version": None, "cron": None}, "cron"),
    ],
)
async def test_a_hostile_edit_is_a_422_naming_the_field_and_changes_nothing(
    service: Service, change: dict[str, Any], field: str
) -> None:
    tenant = uuid4()
    made = await make(service, tenant, **daily(await plan(service, tenant)))
    r = await service.client.patch(
        f"/v1/schedules/{made['id']}", json=change, headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    named = problem.get("field") or ".".join(str(p) for p in problem["errors"][0]["loc"][1:])
    assert named == field, problem
    rows = await service.owner_sql(
        "SELECT version FROM schedules WHERE id = :s", s=UUID(made["id"])
    )
    assert rows[0][0] == 1
