"""Invitations over HTTP: the token is shown once and stored as a hash; acceptance is
public, single use, and answers one generic 400 for every token it refuses (used, revoked,
expired, unknown, malformed); the expiry job lapses what nobody accepted."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.integration.identity.directory_support import (
    PASSWORD,
    Tenant,
    bootstrap,
    events,
    run_job,
    sign_in,
)
from tests.integration.identity.harness import Identity


async def invite(
    identity: Identity, tenant: Tenant, email: str, role: str = "member"
) -> dict[str, Any]:
    response = await identity.client.post(
        f"/v1/orgs/{tenant.org_id}/invitations",
        json={"email": email, "role": role},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def accept(identity: Identity, token: str, password: str = PASSWORD) -> Any:
    return await identity.client.post(
        "/v1/invitations/accept",
        json={"token": token, "display_name": "Newcomer", "password": password},
    )


def refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["detail"]


async def test_invite_accept_once(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    issued = await invite(identity, tenant, "New@Example.com", role="admin")
    token = issued["token"]
    assert token.startswith(f"asi_{tenant.tenant_id.hex}_")
    assert issued["invitation"]["state"] == "pending"
    assert issued["invitation"]["email"] == "new@example.com"
    [stored] = await identity.owner_sql(
        "SELECT token_hash FROM invitations WHERE invitation_id = :i",
        i=issued["invitation"]["invitation_id"],
    )
    secret = token.split("_", 2)[2]
    assert bytes(stored[0]) == hashlib.sha256(secret.encode()).digest()

    accepted = await accept(identity, token)
    assert accepted.status_code == 200, accepted.text
    user_id = accepted.json()["user_id"]
    assert accepted.json()["org_id"] == str(tenant.org_id)
    members = (
        await identity.client.get(f"/v1/orgs/{tenant.org_id}/members", headers=tenant.headers)
    ).json()["items"]
    assert (user_id, "admin") in [(m["user_id"], m["role"]) for m in members]
    assert (await sign_in(identity, tenant.slug, "new@example.com", PASSWORD)).status_code == 200

    # single use: a second acceptance gets the same answer as a token that never existed
    again = await accept(identity, token)
    unknown = await accept(identity, f"asi_{tenant.tenant_id.hex}_{'x' * 43}")
    garbage = await accept(identity, "not-a-token")
    assert refusal(again) == refusal(unknown) == refusal(garbage)
    assert again.status_code == 400
    listed = (
        await identity.client.get(f"/v1/orgs/{tenant.org_id}/invitations", headers=tenant.headers)
    ).json()["items"]
    assert [i["state"] for i in listed] == ["accepted"]
    emitted = await events(identity, tenant.tenant_id)
    for kind in (
        "identity.invitation.created",
        "identity.invitation.accepted",
        "identity.user.created",
        "identity.member.added",
    ):
        assert kind in emitted


async def test_expired_is_refused_and_the_job_lapses_it(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    issued = await invite(identity, tenant, "late@example.com")
    invitation_id = issued["invitation"]["invitation_id"]
    await identity.owner_sql(
        "UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE invitation_id = :i",
        i=invitation_id,
    )
    late = await accept(identity, issued["token"])
    assert late.status_code == 400
    assert refusal(late) == refusal(await accept(identity, "asi_nothing"))
    assert (await identity.owner_sql("SELECT 1 FROM users WHERE email = 'late@example.com'")) == []

    await run_job(identity, tenant.tenant_id, "invitations.expire", invitation_id)
    listed = (
        await identity.client.get(f"/v1/orgs/{tenant.org_id}/invitations", headers=tenant.headers)
    ).json()["items"]
    assert [i["state"] for i in listed] == ["expired"]
    [payload] = await identity.owner_sql(
        "SELECT count(*) FROM outbox WHERE tenant_id = :t AND type = 'identity.invitation.revoked'",
        t=tenant.tenant_id,
    )
    assert payload[0] == 1


async def test_revoke(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    issued = await invite(identity, tenant, "nope@example.com")
    url = f"/v1/invitations/{issued['invitation']['invitation_id']}"
    assert (await identity.client.delete(url, headers=tenant.headers)).status_code == 204
    assert (await identity.client.delete(url, headers=tenant.headers)).status_code == 409
    assert (await accept(identity, issued["token"])).status_code == 400
    other = await bootstrap(identity)
    assert (await identity.client.delete(url, headers=other.headers)).status_code == 404


async def test_existing_user_joins_with_own_password(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    org = await identity.client.post(
        "/v1/orgs", json={"slug": "lab", "name": "Lab"}, headers=tenant.headers
    )
    org_id = org.json()["org_id"]
    created = await identity.client.post(
        "/v1/users",
        json={"email": "old@example.com", "display_name": "Old", "password": PASSWORD},
        headers=tenant.headers,
    )
    user_id = created.json()["user_id"]
    issued = await identity.client.post(
        f"/v1/orgs/{org_id}/invitations", json={"email": "old@example.com"}, headers=tenant.headers
    )
    token = issued.json()["token"]
    wrong = await accept(identity, token, password="not the password!")
    assert wrong.status_code == 400
    joined = await accept(identity, token)
    assert joined.status_code == 200
    assert joined.json()["user_id"] == user_id
    # a member already: a second invitation is refused
    twice = await identity.client.post(
        f"/v1/orgs/{org_id}/invitations", json={"email": "old@example.com"}, headers=tenant.headers
    )
    assert twice.status_code == 409


async def test_admin_invited_at_bootstrap_sets_password_on_acceptance(
    identity: Identity,
) -> None:
    tenant = await bootstrap(identity, password=None)
    token = tenant.body["invitation_token"]
    assert token
    email = f"admin@{tenant.slug}.example.com"
    [status] = await identity.owner_sql(
        "SELECT status FROM users WHERE user_id = :u", u=tenant.admin_id
    )
    assert status[0] == "invited"
    assert (await sign_in(identity, tenant.slug, email, PASSWORD)).status_code == 400
    done = await accept(identity, token)
    assert done.status_code == 200, done.text
    assert done.json()["user_id"] == str(tenant.admin_id)
    assert (await sign_in(identity, tenant.slug, email, PASSWORD)).status_code == 200


async def test_bad_input(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    bad = await identity.client.post(
        f"/v1/orgs/{tenant.org_id}/invitations",
        json={"email": "nope", "role": "member"},
        headers=tenant.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "email"]
    short = await identity.client.post(
        "/v1/invitations/accept", json={"token": "x", "display_name": "A", "password": "short"}
    )
    assert short.status_code == 422
