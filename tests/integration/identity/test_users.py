"""Users over HTTP: create (422s naming the field, 409 on a taken email), read, list,
If-Match updates, deactivation (tokens stop at identity, refresh tokens revoked) and the
password change."""

from __future__ import annotations

from uuid import UUID

from tests.integration.identity.directory_support import (
    PASSWORD,
    Tenant,
    bearer,
    bootstrap,
    events,
    refresh,
    sign_in,
)
from tests.integration.identity.harness import Identity


async def new_user(
    identity: Identity, tenant: Tenant, email: str, **extra: object
) -> dict[str, object]:
    response = await identity.client.post(
        "/v1/users",
        json={"email": email, "display_name": "Someone", "password": PASSWORD, **extra},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_read_and_list(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    created = await identity.client.post(
        "/v1/users",
        json={
            "email": "Ada@Example.COM",
            "display_name": "Ada",
            "password": PASSWORD,
            "attributes": {"department": "research", "level": 3},
        },
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["ETag"] == '"1"'
    user = created.json()
    assert user["email"] == "ada@example.com"
    assert "password_hash" not in user
    got = await identity.client.get(f"/v1/users/{user['user_id']}", headers=tenant.headers)
    assert got.status_code == 200
    assert got.json()["attributes"] == {"department": "research", "level": 3}
    listing = await identity.client.get("/v1/users?limit=1", headers=tenant.headers)
    assert len(listing.json()["items"]) == 1
    assert listing.json()["next_cursor"]
    rest = await identity.client.get(
        "/v1/users", params={"cursor": listing.json()["next_cursor"]}, headers=tenant.headers
    )
    ids = {u["user_id"] for u in listing.json()["items"] + rest.json()["items"]}
    assert ids == {str(tenant.admin_id), user["user_id"]}
    assert "identity.user.created" in await events(identity, tenant.tenant_id)


async def test_duplicate_email_is_409_whatever_the_case(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    await new_user(identity, tenant, "bob@example.com")
    again = await identity.client.post(
        "/v1/users",
        json={"email": "BOB@example.com", "display_name": "Bob", "password": PASSWORD},
        headers=tenant.headers,
    )
    assert again.status_code == 409
    assert again.json()["field"] == "email"
    # another tenant may have the same address
    other = await bootstrap(identity)
    await new_user(identity, other, "bob@example.com")


async def test_bad_input_is_422_and_writes_nothing(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    good = {"email": "ok@example.com", "display_name": "Ok", "password": PASSWORD}
    cases: list[tuple[dict[str, object], str]] = [
        ({"email": "nope"}, "email"),
        ({"email": "a@" + "b" * 250 + ".com"}, "email"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "n" * 201}, "display_name"),
        ({"password": "too-short"}, "password"),
        ({"attributes": {"blob": "x" * 5000}}, "attributes"),
    ]
    for change, field in cases:
        response = await identity.client.post(
            "/v1/users", json={**good, **change}, headers=tenant.headers
        )
        assert response.status_code == 422, (change, response.text)
        assert [e["loc"][-1] for e in response.json()["errors"]] == [field]
    rows = await identity.owner_sql(
        "SELECT 1 FROM users WHERE tenant_id = :t AND email = 'ok@example.com'",
        t=tenant.tenant_id,
    )
    assert rows == []


async def test_other_tenants_users_are_404_and_caps_are_checked(identity: Identity) -> None:
    a, b = await bootstrap(identity), await bootstrap(identity)
    assert (
        await identity.client.get(f"/v1/users/{b.admin_id}", headers=a.headers)
    ).status_code == 404
    assert (
        await identity.client.post(f"/v1/users/{b.admin_id}/deactivate", json={}, headers=a.headers)
    ).status_code == 404
    reader = bearer(await identity.mint(a.tenant_id, a.admin_id, ["users:read"]))
    denied = await identity.client.post(
        "/v1/users",
        json={"email": "x@example.com", "display_name": "X", "password": PASSWORD},
        headers=reader,
    )
    assert denied.status_code == 403
    assert (await identity.client.get("/v1/users", headers=reader)).status_code == 200


async def test_patch_with_if_match(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    user = await new_user(identity, tenant, "carol@example.com")
    url = f"/v1/users/{user['user_id']}"
    assert (
        await identity.client.patch(url, json={"display_name": "C"}, headers=tenant.headers)
    ).status_code == 428
    stale = await identity.client.patch(
        url, json={"display_name": "C"}, headers={**tenant.headers, "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    done = await identity.client.patch(
        url,
        json={"display_name": "Carol", "attributes": {"team": "blue"}},
        headers={**tenant.headers, "If-Match": '"1"'},
    )
    assert done.status_code == 200
    assert done.headers["ETag"] == '"2"'
    assert done.json()["display_name"] == "Carol"
    assert done.json()["attributes"] == {"team": "blue"}
    assert "identity.user.updated" in await events(identity, tenant.tenant_id)


async def test_deactivation_stops_tokens_and_revokes_refresh(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    user = await new_user(identity, tenant, "dave@example.com")
    user_id = UUID(str(user["user_id"]))
    signed = await sign_in(identity, tenant.slug, "dave@example.com", PASSWORD)
    assert signed.status_code == 200, signed.text
    access = bearer(signed.json()["access_token"])
    assert (await identity.client.get("/v1/users/me", headers=access)).status_code == 200

    done = await identity.client.post(
        f"/v1/users/{user_id}/deactivate", json={"reason": "left"}, headers=tenant.headers
    )
    assert done.status_code == 200
    assert done.json()["status"] == "deactivated"
    assert (await identity.client.get("/v1/users/me", headers=access)).status_code == 401
    assert (await refresh(identity, signed.json()["refresh_token"])).status_code == 400
    again = await identity.client.post(
        f"/v1/users/{user_id}/deactivate", json={}, headers=tenant.headers
    )
    assert again.status_code == 409
    gone = await identity.client.get("/v1/users?status=deactivated", headers=tenant.headers)
    assert [u["user_id"] for u in gone.json()["items"]] == [str(user_id)]
    active = await identity.client.get("/v1/users?status=active", headers=tenant.headers)
    assert [u["user_id"] for u in active.json()["items"]] == [str(tenant.admin_id)]
    bogus = await identity.client.get("/v1/users?status=bogus", headers=tenant.headers)
    assert bogus.status_code == 422
    emitted = await events(identity, tenant.tenant_id)
    assert "identity.user.deactivated" in emitted
    assert "identity.session.revoked" in emitted


async def test_password_change(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    email = f"admin@{tenant.slug}.example.com"
    signed = await sign_in(identity, tenant.slug, email, PASSWORD)
    assert signed.status_code == 200, signed.text
    mine = bearer(signed.json()["access_token"])
    new = "an entirely new passphrase"
    wrong = await identity.client.post(
        "/v1/users/me/password", json={"current": "not it at all!!", "new": new}, headers=mine
    )
    assert wrong.status_code == 403
    short = await identity.client.post(
        "/v1/users/me/password", json={"current": PASSWORD, "new": "short"}, headers=mine
    )
    assert short.status_code == 422
    done = await identity.client.post(
        "/v1/users/me/password", json={"current": PASSWORD, "new": new}, headers=mine
    )
    assert done.status_code == 204
    assert (await refresh(identity, signed.json()["refresh_token"])).status_code == 400
    assert (await sign_in(identity, tenant.slug, email, PASSWORD)).status_code == 400
    assert (await sign_in(identity, tenant.slug, email, new)).status_code == 200


async def test_create_is_idempotent(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    headers = {**tenant.headers, "Idempotency-Key": "user-once"}
    body = {"email": "eve@example.com", "display_name": "Eve", "password": PASSWORD}
    first = await identity.client.post("/v1/users", json=body, headers=headers)
    second = await identity.client.post("/v1/users", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
