"""Tenants over HTTP: bootstrap in one transaction, platform-only management, suspension
biting at identity at once, soft delete and the purge of every row."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from tests.integration.identity.directory_support import (
    PASSWORD,
    bearer,
    bootstrap,
    events,
    platform,
    run_job,
    slug,
)
from tests.integration.identity.harness import Identity


async def test_bootstrap_makes_tenant_roles_admin_and_default_org(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    assert tenant.body["tenant"]["status"] == "active"
    assert tenant.body["invitation_token"] is None
    # the admin's token works at once: it is an active user of an active tenant
    me = await identity.client.get("/v1/users/me", headers=tenant.headers)
    assert me.status_code == 200, me.text
    assert me.json()["status"] == "active"
    members = await identity.client.get(f"/v1/orgs/{tenant.org_id}/members", headers=tenant.headers)
    assert [(m["user_id"], m["role"]) for m in members.json()["items"]] == [
        (str(tenant.admin_id), "owner")
    ]
    roles = await identity.owner_sql(
        "SELECT name FROM roles WHERE tenant_id = :t AND builtin ORDER BY name", t=tenant.tenant_id
    )
    assert [r[0] for r in roles] == ["admin", "member", "owner", "viewer"]
    grants = await identity.owner_sql(
        "SELECT r.name, a.scope FROM role_assignments a JOIN roles r USING (role_id) "
        "WHERE a.tenant_id = :t AND a.principal_id = :u",
        t=tenant.tenant_id,
        u=tenant.admin_id,
    )
    assert [tuple(g) for g in grants] == [("owner", "tenant")]
    emitted = await events(identity, tenant.tenant_id)
    for kind in (
        "identity.tenant.created",
        "identity.role.created",
        "identity.user.created",
        "identity.org.created",
        "identity.member.added",
        "identity.role.assigned",
    ):
        assert kind in emitted
    # the password was hashed, never stored as given
    [stored] = await identity.owner_sql(
        "SELECT password_hash FROM users WHERE user_id = :u", u=tenant.admin_id
    )
    assert stored[0].startswith("$argon2id$")


async def test_taken_slug_is_409_and_writes_nothing(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    email = f"second@{tenant.slug}.example.com"
    response = await identity.client.post(
        "/v1/tenants",
        json={
            "slug": tenant.slug,
            "name": "Other",
            "admin": {"email": email, "display_name": "X", "password": PASSWORD},
        },
        headers=await platform(identity),
    )
    assert response.status_code == 409
    assert response.json()["field"] == "slug"
    assert await identity.owner_sql("SELECT 1 FROM users WHERE email = :e", e=email) == []


async def test_bad_input_is_422_naming_the_field(identity: Identity) -> None:
    headers = await platform(identity)
    admin = {"email": "a@example.com", "display_name": "A", "password": PASSWORD}
    good: dict[str, Any] = {"slug": slug(), "name": "Fine", "admin": admin}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"slug": "-bad"}, ["body", "slug"]),
        ({"slug": "UPPER"}, ["body", "slug"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": "bell\x07"}, ["body", "name"]),
        ({"admin": {**admin, "email": "not-an-email"}}, ["body", "admin", "email"]),
        ({"admin": {**admin, "password": "short"}}, ["body", "admin", "password"]),
        ({"tier": "Gold Plan!"}, ["body", "tier"]),
    ]
    for change, loc in cases:
        response = await identity.client.post(
            "/v1/tenants", json={**good, **change}, headers=headers
        )
        assert response.status_code == 422, (change, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"] for e in response.json()["errors"]] == [loc], change
    assert await identity.owner_sql("SELECT 1 FROM tenants WHERE slug = :s", s=good["slug"]) == []


async def test_tenant_principals_cannot_manage_tenants(identity: Identity) -> None:
    tenant = await bootstrap(identity)  # its admin holds `*` in its tenant
    response = await identity.client.post(
        "/v1/tenants",
        json={"slug": slug(), "name": "N", "admin": {"email": "a@b.io", "display_name": "A"}},
        headers=tenant.headers,
    )
    assert response.status_code == 403
    listing = await identity.client.get("/v1/tenants", headers=tenant.headers)
    assert listing.status_code == 403
    suspend = await identity.client.post(
        f"/v1/tenants/{tenant.tenant_id}/suspend", json={"reason": "x"}, headers=tenant.headers
    )
    assert suspend.status_code == 403


async def test_get_tenant_own_platform_and_other(identity: Identity) -> None:
    a, b = await bootstrap(identity), await bootstrap(identity)
    own = await identity.client.get(f"/v1/tenants/{a.tenant_id}", headers=a.headers)
    assert own.status_code == 200
    assert own.json()["slug"] == a.slug
    assert own.headers["ETag"] == '"1"'
    other = await identity.client.get(f"/v1/tenants/{b.tenant_id}", headers=a.headers)
    assert other.status_code == 404
    viewer = bearer(await identity.mint(a.tenant_id, a.admin_id, ["users:read"]))
    assert (
        await identity.client.get(f"/v1/tenants/{a.tenant_id}", headers=viewer)
    ).status_code == 403
    by_platform = await identity.client.get(
        f"/v1/tenants/{b.tenant_id}", headers=await platform(identity)
    )
    assert by_platform.status_code == 200
    assert by_platform.json()["slug"] == b.slug


async def test_list_tenants_pages_with_a_cursor(identity: Identity) -> None:
    await bootstrap(identity)
    await bootstrap(identity)
    headers = await platform(identity)
    first = (await identity.client.get("/v1/tenants?limit=1", headers=headers)).json()
    assert len(first["items"]) == 1
    assert first["next_cursor"]
    second = (
        await identity.client.get(
            "/v1/tenants", params={"limit": 1, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    assert second["items"][0]["tenant_id"] != first["items"][0]["tenant_id"]
    bad = await identity.client.get("/v1/tenants?cursor=nonsense", headers=headers)
    assert bad.status_code == 400


async def test_patch_needs_if_match(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    url = f"/v1/tenants/{tenant.tenant_id}"
    headers = await platform(identity)
    missing = await identity.client.patch(url, json={"name": "New"}, headers=headers)
    assert missing.status_code == 428
    stale = await identity.client.patch(
        url, json={"name": "New"}, headers={**headers, "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    done = await identity.client.patch(
        url, json={"name": "New", "tier": "gold"}, headers={**headers, "If-Match": '"1"'}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["name"], done.json()["tier"]) == ("New", "gold")
    assert done.headers["ETag"] == '"2"'
    # the tenant's own owner may rename it, not change its tier
    own_tier = await identity.client.patch(
        url, json={"tier": "free"}, headers={**tenant.headers, "If-Match": '"2"'}
    )
    assert own_tier.status_code == 403
    own_name = await identity.client.patch(
        url, json={"name": "Mine"}, headers={**tenant.headers, "If-Match": '"2"'}
    )
    assert own_name.status_code == 200
    assert "identity.tenant.updated" in await events(identity, tenant.tenant_id)


async def test_suspension_stops_the_tenants_tokens_at_once(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    headers = await platform(identity)
    assert (await identity.client.get("/v1/users/me", headers=tenant.headers)).status_code == 200
    url = f"/v1/tenants/{tenant.tenant_id}"
    suspended = await identity.client.post(
        f"{url}/suspend", json={"reason": "unpaid"}, headers=headers
    )
    assert suspended.status_code == 200
    assert suspended.json()["status"] == "suspended"
    # the same, still unexpired token
    assert (await identity.client.get("/v1/users/me", headers=tenant.headers)).status_code == 401
    again = await identity.client.post(f"{url}/suspend", json={"reason": "x"}, headers=headers)
    assert again.status_code == 409
    back = await identity.client.post(f"{url}/reactivate", headers=headers)
    assert back.status_code == 200
    assert back.json()["status"] == "active"
    assert (await identity.client.get("/v1/users/me", headers=tenant.headers)).status_code == 200
    emitted = await events(identity, tenant.tenant_id)
    assert "identity.tenant.suspended" in emitted
    assert "identity.tenant.reactivated" in emitted


async def test_delete_is_soft_then_the_purge_removes_every_row(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    headers = await platform(identity)
    deleted = await identity.client.delete(f"/v1/tenants/{tenant.tenant_id}", headers=headers)
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "deleted"
    assert deleted.json()["purge_after"]
    assert (await identity.client.get("/v1/users/me", headers=tenant.headers)).status_code == 401
    back = await identity.client.post(f"/v1/tenants/{tenant.tenant_id}/reactivate", headers=headers)
    assert back.status_code == 409  # deleted is final
    assert "identity.tenant.deleted" in await events(identity, tenant.tenant_id)

    await run_job(identity, tenant.tenant_id, "tenants.purge", str(tenant.tenant_id))
    for table in ("tenants", "users", "orgs", "members", "roles", "role_assignments"):
        rows = await identity.owner_sql(
            f"SELECT 1 FROM {table} WHERE tenant_id = :t", t=tenant.tenant_id
        )
        assert rows == [], table


async def test_create_is_idempotent_by_key(identity: Identity) -> None:
    headers = {**await platform(identity), "Idempotency-Key": f"k-{slug()}"}
    name = slug()
    body = {
        "slug": name,
        "name": "Once",
        "admin": {"email": "a@example.com", "display_name": "A", "password": PASSWORD},
    }
    first = await identity.client.post("/v1/tenants", json=body, headers=headers)
    second = await identity.client.post("/v1/tenants", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    rows = await identity.owner_sql("SELECT tenant_id FROM tenants WHERE slug = :s", s=name)
    assert [r[0] for r in rows] == [UUID(first.json()["tenant"]["tenant_id"])]
    changed = await identity.client.post(
        "/v1/tenants", json={**body, "name": "Twice"}, headers=headers
    )
    assert changed.status_code == 422
