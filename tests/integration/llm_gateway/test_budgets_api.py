"""The budgets admin API through the real app: CRUD, spend shown, If-Match, idempotent
create, 409 on a duplicate, 422s naming the field, and tenant isolation (404)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import pytest

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.settlement import settle
from tests.integration.llm_gateway.harness import Gateway, auth

pytestmark = pytest.mark.usefixtures("gateway")


async def create(gateway: Gateway, tenant: UUID, **body: Any) -> dict[str, Any]:
    response = await gateway.client.post("/v1/budgets", json=body, headers=auth(tenant))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_read_update_reset_delete(gateway: Gateway) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    made = await create(
        gateway,
        tenant,
        scope="user",
        scope_id=str(user).upper(),
        period="month",
        limit_cost="2.5",
        warn_percent=80,
    )
    bid = made["budget_id"]
    assert made["scope_id"] == str(user)
    assert (made["limit_cost"], made["remaining_cost"], made["spent_cost"]) == ("2.5", "2.5", "0")
    assert made["window_start"][8:19] == "01T00:00:00"  # a month window starts the 1st, UTC
    assert made["window_end"] is not None

    # spend shows: reserve 1.0, settle 0.4 of it
    async with gateway.deps.uow(tenant) as uow:
        [rule] = await uow.budgets.rules()
    held = await gateway.deps.budgets.reserve(Caller(tenant, user_id=user), [rule], 10, 1_000_000)
    got = await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))
    assert got.status_code == 200
    body = got.json()
    assert (body["reserved_cost"], body["remaining_cost"]) == ("1", "1.5")
    async with gateway.deps.uow(tenant) as uow:
        await settle(uow, held.reservation_id, 10, 400_000, None)
        await uow.commit()
    body = (await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))).json()
    assert (body["spent_cost"], body["reserved_cost"], body["remaining_cost"]) == (
        "0.4",
        "0",
        "2.1",
    )
    etag = got.headers["ETag"]

    # PATCH needs If-Match; changing limits keeps the spend
    no_match = await gateway.client.patch(
        f"/v1/budgets/{bid}", json={"limit_tokens": 100}, headers=auth(tenant)
    )
    assert no_match.status_code == 428
    patched = await gateway.client.patch(
        f"/v1/budgets/{bid}",
        json={"limit_cost": "3", "limit_tokens": 100},
        headers={**auth(tenant), "If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["limit_cost"], p["spent_cost"], p["limit_tokens"], p["spent_tokens"]) == (
        "3",
        "0.4",
        100,
        10,
    )
    stale = await gateway.client.patch(
        f"/v1/budgets/{bid}", json={"warn_percent": 50}, headers={**auth(tenant), "If-Match": etag}
    )
    assert stale.status_code == 412

    reset = await gateway.client.post(f"/v1/budgets/{bid}/reset", headers=auth(tenant))
    assert reset.status_code == 200
    assert (reset.json()["spent_cost"], reset.json()["spent_tokens"]) == ("0", 0)

    listed = await gateway.client.get("/v1/budgets?scope=user", headers=auth(tenant))
    assert [b["budget_id"] for b in listed.json()["items"]] == [bid]
    none = await gateway.client.get("/v1/budgets?scope=org", headers=auth(tenant))
    assert none.json()["items"] == []

    gone = await gateway.client.delete(f"/v1/budgets/{bid}", headers=auth(tenant))
    assert gone.status_code == 204
    assert (await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))).status_code == 404


async def test_list_pages_with_a_cursor(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    for _ in range(3):
        await create(
            gateway, tenant, scope="org", scope_id=str(uuid.uuid4()), period="day", limit_tokens=10
        )
    first = (await gateway.client.get("/v1/budgets?limit=2", headers=auth(tenant))).json()
    assert len(first["items"]) == 2
    rest = await gateway.client.get(
        "/v1/budgets", params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(tenant)
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None


async def test_tenant_budget_defaults_to_the_caller_and_duplicates_conflict(
    gateway: Gateway,
) -> None:
    tenant = uuid.uuid4()
    made = await create(gateway, tenant, scope="tenant", period="day", limit_tokens=1000)
    assert made["scope_id"] == str(tenant)
    again = await gateway.client.post(
        "/v1/budgets",
        json={"scope": "tenant", "period": "day", "limit_cost": "1"},
        headers=auth(tenant),
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    # another period is another budget
    await create(gateway, tenant, scope="tenant", period="month", limit_tokens=1000)


async def test_idempotent_create(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    body = {"scope": "tenant", "period": "total", "limit_cost": "10"}
    headers = {**auth(tenant), "Idempotency-Key": "budget-1"}
    first = await gateway.client.post("/v1/budgets", json=body, headers=headers)
    second = await gateway.client.post("/v1/budgets", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["budget_id"] == second.json()["budget_id"]
    listed = await gateway.client.get("/v1/budgets", headers=auth(tenant))
    assert len(listed.json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "tenant", "period": "day"}, "limit_cost"),
        (
            {"scope": "tenant", "period": "day", "limit_cost": "1", "on_exhaust": "downgrade"},
            "downgrade_to",
        ),
        (
            {"scope": "tenant", "period": "day", "limit_cost": "1", "downgrade_to": "fast"},
            "downgrade_to",
        ),
        ({"scope": "user", "period": "day", "limit_cost": "1"}, "scope_id"),
        ({"scope": "user", "scope_id": "bob", "period": "day", "limit_cost": "1"}, "scope_id"),
        (
            {"scope": "tenant", "scope_id": str(uuid.uuid4()), "period": "day", "limit_tokens": 1},
            "scope_id",
        ),
        ({"scope": "tenant", "period": "week", "limit_cost": "1"}, "period"),
        ({"scope": "tenant", "period": "day", "limit_cost": "1.1234567"}, "limit_cost"),
        ({"scope": "tenant", "period": "day", "limit_cost": "-1"}, "limit_cost"),
        ({"scope": "tenant", "period": "day", "limit_tokens": 0}, "limit_tokens"),
        (
            {"scope": "tenant", "period": "day", "limit_tokens": 5, "warn_percent": 101},
            "warn_percent",
        ),
        ({"scope": "tenant", "period": "day", "limit_tokens": 5, "currency": "usd"}, "currency"),
        ({"scope": "team", "period": "day", "limit_tokens": 5}, "scope"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    gateway: Gateway, body: dict[str, Any], field: str
) -> None:
    tenant = uuid.uuid4()
    response = await gateway.client.post("/v1/budgets", json=body, headers=auth(tenant))
    assert response.status_code == 422, response.text
    assert field in [e["loc"][1] for e in response.json()["errors"]]
    listed = await gateway.client.get("/v1/budgets", headers=auth(tenant))
    assert listed.json()["items"] == []


async def test_patch_refuses_a_budget_without_limits(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    made = await create(gateway, tenant, scope="tenant", period="day", limit_tokens=5)
    response = await gateway.client.patch(
        f"/v1/budgets/{made['budget_id']}",
        json={"limit_tokens": None},
        headers={**auth(tenant), "If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "limit_cost"
    still = await gateway.client.get(f"/v1/budgets/{made['budget_id']}", headers=auth(tenant))
    assert still.json()["limit_tokens"] == 5


async def test_another_tenant_sees_and_touches_nothing(gateway: Gateway) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    made = await create(gateway, owner, scope="tenant", period="day", limit_tokens=5)
    path = f"/v1/budgets/{made['budget_id']}"
    theirs = auth(other)
    assert (await gateway.client.get(path, headers=theirs)).status_code == 404
    patch = await gateway.client.patch(
        path, json={"limit_tokens": 9}, headers={**theirs, "If-Match": '"1"'}
    )
    assert patch.status_code == 404
    assert (await gateway.client.post(f"{path}/reset", headers=theirs)).status_code == 404
    assert (await gateway.client.delete(path, headers=theirs)).status_code == 404
    assert (await gateway.client.get("/v1/budgets", headers=theirs)).json()["items"] == []
    mine = await gateway.client.get(path, headers=auth(owner))
    assert (mine.json()["limit_tokens"], mine.json()["version"]) == (5, 1)


async def test_capabilities(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    reader = auth(tenant, ["usage:read"])
    body = {"scope": "tenant", "period": "day", "limit_tokens": 5}
    assert (await gateway.client.post("/v1/budgets", json=body, headers=reader)).status_code == 403
    assert (await gateway.client.get("/v1/budgets", headers=reader)).status_code == 200
    writer = auth(tenant, ["budgets:write"])
    assert (await gateway.client.get("/v1/budgets", headers=writer)).status_code == 403


async def test_openapi_documents_every_budget_route(gateway: Gateway) -> None:
    spec = (await gateway.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/v1/budgets"]) >= {"get", "post"}
    assert set(paths["/v1/budgets/{budget_id}"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/v1/budgets/{budget_id}/reset"]
    assert "422" in paths["/v1/budgets"]["post"]["responses"]
