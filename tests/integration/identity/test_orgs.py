"""Organizations and members over HTTP: create (caller owns), If-Match updates, delete,
add / change / remove members, never without an owner, other tenants' ids are 404."""

from __future__ import annotations

from tests.integration.identity.directory_support import (
    PASSWORD,
    Tenant,
    bootstrap,
    events,
)
from tests.integration.identity.harness import Identity


async def add_user(identity: Identity, tenant: Tenant, email: str) -> str:
    response = await identity.client.post(
        "/v1/users",
        json={"email": email, "display_name": "Member", "password": PASSWORD},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    user_id: str = response.json()["user_id"]
    return user_id


async def new_org(identity: Identity, tenant: Tenant, slug: str = "research") -> dict[str, str]:
    response = await identity.client.post(
        "/v1/orgs", json={"slug": slug, "name": "Research"}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


async def test_create_get_list_update_delete(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    org = await new_org(identity, tenant)
    assert org["owner_id"] == str(tenant.admin_id)
    url = f"/v1/orgs/{org['org_id']}"
    got = await identity.client.get(url, headers=tenant.headers)
    assert got.status_code == 200
    assert got.headers["ETag"] == '"1"'
    listing = (await identity.client.get("/v1/orgs", headers=tenant.headers)).json()
    assert {o["slug"] for o in listing["items"]} == {"default", "research"}
    dup = await identity.client.post(
        "/v1/orgs", json={"slug": "research", "name": "Again"}, headers=tenant.headers
    )
    assert dup.status_code == 409
    bad = await identity.client.post(
        "/v1/orgs", json={"slug": "Bad Slug", "name": "x"}, headers=tenant.headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "slug"]

    assert (
        await identity.client.patch(url, json={"name": "R&D"}, headers=tenant.headers)
    ).status_code == 428
    taken = await identity.client.patch(
        url, json={"slug": "default"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert taken.status_code == 409
    renamed = await identity.client.patch(
        url, json={"name": "R&D", "slug": "rnd"}, headers={**tenant.headers, "If-Match": '"1"'}
    )
    assert renamed.status_code == 200
    assert renamed.json()["slug"] == "rnd"
    assert renamed.headers["ETag"] == '"2"'

    assert (await identity.client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await identity.client.get(url, headers=tenant.headers)).status_code == 404
    rows = await identity.owner_sql("SELECT 1 FROM members WHERE org_id = :o", o=org["org_id"])
    assert rows == []
    emitted = await events(identity, tenant.tenant_id)
    for kind in ("identity.org.created", "identity.org.updated", "identity.org.deleted"):
        assert kind in emitted


async def test_members_add_change_remove_and_last_owner(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    org = await new_org(identity, tenant)
    base = f"/v1/orgs/{org['org_id']}/members"
    [version] = await identity.owner_sql(
        "SELECT authz_version FROM tenants WHERE tenant_id = :t", t=tenant.tenant_id
    )
    user = await add_user(identity, tenant, "m@example.com")

    added = await identity.client.put(
        f"{base}/{user}", json={"role": "member"}, headers=tenant.headers
    )
    assert added.status_code == 201
    assert added.json()["role"] == "member"
    same = await identity.client.put(
        f"{base}/{user}", json={"role": "member"}, headers=tenant.headers
    )
    assert same.status_code == 200
    promoted = await identity.client.put(
        f"{base}/{user}", json={"role": "owner"}, headers=tenant.headers
    )
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"
    bad_role = await identity.client.put(
        f"{base}/{user}", json={"role": "emperor"}, headers=tenant.headers
    )
    assert bad_role.status_code == 422
    assert bad_role.json()["errors"][0]["loc"] == ["body", "role"]

    # two owners: the admin may step down; then the other is the last and cannot
    admin = f"{base}/{tenant.admin_id}"
    assert (
        await identity.client.put(admin, json={"role": "admin"}, headers=tenant.headers)
    ).status_code == 200
    demote = await identity.client.put(
        f"{base}/{user}", json={"role": "member"}, headers=tenant.headers
    )
    assert demote.status_code == 409
    remove = await identity.client.delete(f"{base}/{user}", headers=tenant.headers)
    assert remove.status_code == 409
    assert (await identity.client.delete(admin, headers=tenant.headers)).status_code == 204
    listing = (await identity.client.get(base, headers=tenant.headers)).json()
    assert [(m["user_id"], m["role"]) for m in listing["items"]] == [(user, "owner")]

    [after] = await identity.owner_sql(
        "SELECT authz_version FROM tenants WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert after[0] > version[0]  # every member change invalidates cached authorization
    emitted = await events(identity, tenant.tenant_id)
    for kind in (
        "identity.member.added",
        "identity.member.role_changed",
        "identity.member.removed",
    ):
        assert kind in emitted


async def test_other_tenants_ids_are_404(identity: Identity) -> None:
    a, b = await bootstrap(identity), await bootstrap(identity)
    assert (await identity.client.get(f"/v1/orgs/{b.org_id}", headers=a.headers)).status_code == 404
    # a user of tenant b cannot be made a member of tenant a's org
    into = await identity.client.put(
        f"/v1/orgs/{a.org_id}/members/{b.admin_id}", json={"role": "member"}, headers=a.headers
    )
    assert into.status_code == 404
    assert (
        await identity.client.delete(f"/v1/orgs/{b.org_id}", headers=a.headers)
    ).status_code == 404


async def test_deactivated_user_cannot_join(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    user = await add_user(identity, tenant, "gone@example.com")
    await identity.client.post(f"/v1/users/{user}/deactivate", json={}, headers=tenant.headers)
    joined = await identity.client.put(
        f"/v1/orgs/{tenant.org_id}/members/{user}", json={"role": "member"}, headers=tenant.headers
    )
    assert joined.status_code == 409
