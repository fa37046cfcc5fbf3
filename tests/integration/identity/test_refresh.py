"""Refresh tokens: rotate on every use; a reused one revokes its whole family; a
deactivated user or suspended tenant cannot refresh; revocation (RFC 7009) and
`revoke_user_sessions`."""

from __future__ import annotations

from uuid import UUID

import httpx

from agentsuite_identity.handlers.tokens import revoke_user_sessions
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import grant_role
from tests.integration.identity.test_tokens import (
    PASSWORD,
    claims,
    client_at,
    password_token,
    password_user,
)


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(
        "/v1/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def signed_in(identity: Identity, client: httpx.AsyncClient) -> tuple[UUID, UUID, str]:
    tenant, slug, user, email = await password_user(identity)
    answer = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert answer.status_code == 200, answer.text
    return tenant, user, answer.json()["refresh_token"]


async def test_rotation_and_recomputed_caps(identity: Identity) -> None:
    async with client_at(identity) as client:
        tenant, user, first = await signed_in(identity, client)
        await grant_role(identity, tenant, user, ["plans:read"])
        answer = await refresh(client, first)
        assert answer.status_code == 200, answer.text
        second = answer.json()["refresh_token"]
        assert second != first
        assert second.startswith("asr_")
        # the role granted after sign-in shows in the refreshed access token
        assert claims(answer.json()["access_token"])["caps"] == ["plans:read"]
        again = await refresh(client, second)
        assert again.status_code == 200, again.text
    [row] = await identity.owner_sql(
        "SELECT count(DISTINCT family_id) AS families, count(*) AS tokens, "
        "count(used_at) AS used FROM refresh_tokens WHERE user_id = :u",
        u=user,
    )
    assert (row.families, row.tokens, row.used) == (1, 3, 2)


async def test_reuse_revokes_the_whole_family(identity: Identity) -> None:
    async with client_at(identity) as client:
        _, user, first = await signed_in(identity, client)
        second = (await refresh(client, first)).json()["refresh_token"]
        reused = await refresh(client, first)
        assert reused.status_code == 400
        assert reused.json()["error"] == "invalid_grant"
        # the thief's use revoked the newer token too
        newer = await refresh(client, second)
        assert newer.status_code == 400
        assert newer.json()["error"] == "invalid_grant"
    events = await identity.owner_sql(
        "SELECT value FROM outbox WHERE type = 'identity.session.revoked' AND key = :u",
        u=str(user),
    )
    assert len(events) == 1
    assert b"reuse_detected" in events[0].value


async def test_inactive_user_or_tenant_cannot_refresh(identity: Identity) -> None:
    async with client_at(identity) as client:
        _, user, token = await signed_in(identity, client)
        await identity.owner_sql(
            "UPDATE users SET status = 'deactivated' WHERE user_id = :u", u=user
        )
        refused = await refresh(client, token)
        tenant, _, other = await signed_in(identity, client)
        await identity.owner_sql(
            "UPDATE tenants SET status = 'suspended' WHERE tenant_id = :t", t=tenant
        )
        suspended = await refresh(client, other)
        garbage = await refresh(client, "asr_not-a-token")
    for answer in (refused, suspended, garbage):
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"


async def test_expired_refresh_token_is_refused(identity: Identity) -> None:
    async with client_at(identity) as client:
        _, user, token = await signed_in(identity, client)
        await identity.owner_sql(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u",
            u=user,
        )
        answer = await refresh(client, token)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


async def test_revoke_endpoint_and_user_sessions(identity: Identity) -> None:
    async with client_at(identity) as client:
        _tenant, _user, first = await signed_in(identity, client)
        tenant_b, user_b, other = await signed_in(identity, client)
        # a second sign-in of the same user: two families
        [email] = await identity.owner_sql("SELECT email FROM users WHERE user_id = :u", u=user_b)
        [slug] = await identity.owner_sql(
            "SELECT slug FROM tenants WHERE tenant_id = :t", t=tenant_b
        )
        second = (
            await password_token(client, username=email.email, password=PASSWORD, tenant=slug.slug)
        ).json()["refresh_token"]
        revoked = await client.post("/v1/revoke", data={"token": first})
        unknown = await client.post("/v1/revoke", data={"token": "asr_whatever"})
        missing = await client.post("/v1/revoke", data={})
        assert revoked.status_code == 200
        assert unknown.status_code == 200
        assert missing.status_code == 400
        assert (await refresh(client, first)).status_code == 400
        async with identity.deps.runtime.uow(tenant_b) as uow:
            assert await revoke_user_sessions(uow, user_b, "user_deactivated") == 2
            await uow.commit()
        async with identity.deps.runtime.uow(tenant_b) as uow:
            assert await revoke_user_sessions(uow, user_b, "user_deactivated") == 0
        assert (await refresh(client, other)).status_code == 400
        assert (await refresh(client, second)).status_code == 400
    events = await identity.owner_sql(
        "SELECT value FROM outbox WHERE type = 'identity.session.revoked' AND key = :u",
        u=str(user_b),
    )
    assert len(events) == 2
    assert all(b"user_deactivated" in e.value for e in events)
