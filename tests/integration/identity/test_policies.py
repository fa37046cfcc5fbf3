"""ABAC policy routes: CRUD, ETag, events, and 422s naming the field."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest

from tests.integration.identity.harness import Identity


async def _caller(identity: Identity, caps: list[str]) -> tuple[UUID, dict[str, str]]:
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    token = await identity.mint(tenant, user, caps)
    return tenant, {"Authorization": f"Bearer {token}"}


POLICY: dict[str, Any] = {
    "name": "no-final-edits",
    "description": "Final plans are frozen.",
    "effect": "deny",
    "actions": ["plans:write", "plans:approve"],
    "resource_type": "plan",
    "resources": ["plan:*"],
    "condition": {"resource.status": {"$eq": "final"}},
    "priority": 10,
}


async def test_policy_crud_with_etag_and_events(identity: Identity) -> None:
    tenant, auth = await _caller(identity, ["*"])
    client = identity.client
    made = await client.post("/v1/policies", json=POLICY, headers={**auth, "Idempotency-Key": "p"})
    assert made.status_code == 201, made.text
    policy = made.json()
    assert policy["condition"] == POLICY["condition"]
    assert made.headers["ETag"] == '"1"'
    replay = await client.post(
        "/v1/policies", json=POLICY, headers={**auth, "Idempotency-Key": "p"}
    )
    assert replay.json()["policy_id"] == policy["policy_id"]
    assert (await client.post("/v1/policies", json=POLICY, headers=auth)).status_code == 409
    url = f"/v1/policies/{policy['policy_id']}"
    got = await client.get(url, headers=auth)
    assert (got.status_code, got.headers["ETag"]) == (200, '"1"')
    patched = await client.patch(
        url, json={"enabled": False, "priority": 3}, headers={**auth, "If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["enabled"], patched.json()["priority"]) == (False, 3)
    assert patched.json()["actions"] == POLICY["actions"]
    stale = await client.patch(url, json={"priority": 4}, headers={**auth, "If-Match": '"1"'})
    assert stale.status_code == 412
    listed = await client.get("/v1/policies", headers=auth)
    assert [p["name"] for p in listed.json()["items"]] == ["no-final-edits"]
    _, stranger = await _caller(identity, ["*"])
    assert (await client.get(url, headers=stranger)).status_code == 404
    assert (await client.delete(url, headers=stranger)).status_code == 404
    assert (await client.delete(url, headers=auth)).status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404
    events = await identity.owner_sql(
        "SELECT type, value FROM outbox WHERE tenant_id = :t ORDER BY id", t=tenant
    )
    kinds = [e[0] for e in events]
    assert kinds == [
        "identity.policy.created",
        "identity.policy.updated",
        "identity.policy.deleted",
    ]
    created = json.loads(events[0][1])
    created = created.get("payload", created)
    assert created["resources"] == ["plan:*"]
    assert created["description"] == "Final plans are frozen."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"condition": {"resource.status": {"$regex": "^f"}}}, "condition.resource.status.$regex"),
        ({"condition": {"$xor": [{"resource.a": 1}]}}, "condition.$xor"),
        ({"actions": ["plans:read", "plans:fly"]}, "actions[1]"),
        ({"name": "x" * 101}, "name"),
        ({"description": "d" * 1001}, "description"),
        ({"effect": "maybe"}, "effect"),
        ({"actions": []}, "actions"),
        ({"resources": ["no-colon"]}, "resources[0]"),
        ({"actions": ["plans:read"] * 201}, "actions"),
    ],
)
async def test_bad_policies_are_422_naming_the_field(
    identity: Identity, change: dict[str, Any], field: str
) -> None:
    tenant, auth = await _caller(identity, ["*"])
    answer = await identity.client.post("/v1/policies", json={**POLICY, **change}, headers=auth)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    named = [".".join(str(p) for p in e["loc"][1:]) for e in problem["errors"]]
    wanted = field.replace("[", ".").replace("]", "")
    assert any(n == wanted or n.startswith(field.split("[")[0]) for n in named), problem
    rows = await identity.owner_sql("SELECT count(*) FROM policies WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_deep_nesting_is_422(identity: Identity) -> None:
    _, auth = await _caller(identity, ["*"])
    deep: dict[str, Any] = {"resource.a": 1}
    for _ in range(9):
        deep = {"$not": deep}
    answer = await identity.client.post(
        "/v1/policies", json={**POLICY, "condition": deep}, headers=auth
    )
    assert answer.status_code == 422
    assert answer.json()["field"].startswith("condition.$not")


async def test_policy_routes_need_their_capabilities(identity: Identity) -> None:
    _, reader = await _caller(identity, ["policies:read"])
    assert (
        await identity.client.post("/v1/policies", json=POLICY, headers=reader)
    ).status_code == 403
    assert (await identity.client.get("/v1/policies", headers=reader)).status_code == 200
    _, writer = await _caller(identity, ["policies:write", "plans:read"])
    allow_all = {**POLICY, "name": "allow", "effect": "allow", "actions": ["*"]}
    assert (
        await identity.client.post("/v1/policies", json=allow_all, headers=writer)
    ).status_code == 403
    deny = await identity.client.post("/v1/policies", json=POLICY, headers=writer)
    assert deny.status_code == 201
