"""`POST /v1/token`: the password and client_credentials grants, their errors (RFC 6749
§5.2), throttling per account and per address, and rehash on login."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import jwt
from fastapi import FastAPI

from agentsuite_identity.api import tokens
from agentsuite_identity.passwords import Passwords
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import grant_role, member_of, service_account

PASSWORD = "correct horse battery staple"


async def password_user(
    identity: Identity,
    *,
    password: str = PASSWORD,
    status: str = "active",
    tenant: UUID | None = None,
    hasher: Passwords | None = None,
) -> tuple[UUID, str, UUID, str]:
    """(tenant, tenant slug, user, email) of a user who signs in with `password`."""
    if tenant is None:
        tenant = await identity.bare_tenant()
    [row] = await identity.owner_sql("SELECT slug FROM tenants WHERE tenant_id = :t", t=tenant)
    user, email = uuid.uuid4(), f"u{secrets.token_hex(5)}@Example.com"
    digest = await (hasher or identity.deps.passwords).hash(password)
    await identity.owner_sql(
        "INSERT INTO users (user_id, tenant_id, email, display_name, password_hash, status) "
        "VALUES (:u, :t, :e, 'Tester', :h, :s)",
        u=user,
        t=tenant,
        e=email,
        h=digest,
        s=status,
    )
    return tenant, row.slug, user, email


@asynccontextmanager
async def client_at(
    identity: Identity, address: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client from its own address: failed sign-ins count per address, and tests share
    one app, so tests that fail on purpose must not lock out the others."""
    address = (
        address or f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    )
    transport = httpx.ASGITransport(app=identity.app, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        yield client


async def password_token(client: httpx.AsyncClient, **form: Any) -> httpx.Response:
    return await client.post("/v1/token", data={"grant_type": "password", **form})


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def test_password_grant_issues_verifiable_token(identity: Identity) -> None:
    tenant, slug, user, email = await password_user(identity)
    await grant_role(identity, tenant, user, ["plans:read", "users:read"])
    async with client_at(identity) as client:
        answer = await password_token(
            client, username=email.upper(), password=PASSWORD, tenant=slug
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == identity.settings.access_token_ttl
    assert body["refresh_token"].startswith("asr_")
    got = claims(body["access_token"])
    assert got["sub"] == str(user)
    assert got["tid"] == str(tenant)
    assert got["kind"] == "user"
    assert got["caps"] == ["plans:read", "users:read"]
    assert "org" not in got
    # identity's own verifier accepts it (a route that needs a token answers, not 401)
    principal = await identity.app.state.keyset.authenticate(body["access_token"])
    assert principal.subject == str(user)


async def test_org_token_carries_org_and_its_caps(identity: Identity) -> None:
    tenant, slug, user, email = await password_user(identity)
    org, org_slug = await member_of(identity, tenant, user, "member")
    await grant_role(identity, tenant, user, ["plans:approve"], org=org)
    async with client_at(identity) as client:
        by_slug = await password_token(
            client, username=email, password=PASSWORD, tenant=slug, org=org_slug
        )
        by_id = await password_token(
            client, username=email, password=PASSWORD, tenant=slug, org=str(org)
        )
        other = await password_token(
            client, username=email, password=PASSWORD, tenant=slug, org="no-such-org"
        )
    for answer in (by_slug, by_id):
        assert answer.status_code == 200, answer.text
        got = claims(answer.json()["access_token"])
        assert got["org"] == str(org)
        assert "plans:approve" in got["caps"]
        assert "executions:start" in got["caps"]  # the member system role, in that org
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_grant"


async def test_failures_are_indistinguishable(identity: Identity) -> None:
    tenant, slug, _user, email = await password_user(identity)
    _, _, _, inactive = await password_user(identity, tenant=tenant, status="deactivated")
    suspended, suspended_slug, _, suspended_email = await password_user(identity)
    await identity.owner_sql(
        "UPDATE tenants SET status = 'suspended' WHERE tenant_id = :t", t=suspended
    )
    cases = [
        {"username": email, "password": "wrong", "tenant": slug},
        {
            "username": f"nobody-{secrets.token_hex(3)}@example.com",
            "password": PASSWORD,
            "tenant": slug,
        },
        {"username": inactive, "password": PASSWORD, "tenant": slug},
        {"username": email, "password": PASSWORD, "tenant": "no-such-tenant"},
        {"username": suspended_email, "password": PASSWORD, "tenant": suspended_slug},
    ]
    answers = []
    async with client_at(identity) as client:
        for form in cases:
            answers.append(await password_token(client, **form))
    assert {a.status_code for a in answers} == {400}
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["error"] == "invalid_grant"
    assert all(a.headers["cache-control"] == "no-store" for a in answers)


async def test_rehash_on_login_when_parameters_change(identity: Identity) -> None:
    weaker = Passwords(
        identity.settings.model_copy(update={"argon2_time_cost": 2, "argon2_memory_cost": 512})
    )
    _tenant, slug, user, email = await password_user(identity, hasher=weaker)
    [before] = await identity.owner_sql(
        "SELECT password_hash FROM users WHERE user_id = :u", u=user
    )
    assert "m=512,t=2" in before.password_hash
    async with client_at(identity) as client:
        answer = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert answer.status_code == 200, answer.text
    [after] = await identity.owner_sql("SELECT password_hash FROM users WHERE user_id = :u", u=user)
    assert after.password_hash != before.password_hash
    assert "m=1024,t=1" in after.password_hash
    ok, again = await identity.deps.passwords.verify(after.password_hash, PASSWORD)
    assert ok
    assert again is None


async def test_account_lockout_answers_like_a_wrong_password(identity: Identity) -> None:
    _tenant, slug, _user, email = await password_user(identity)
    limit = identity.settings.login_max_failures
    async with client_at(identity) as client:
        wrong = [
            await password_token(client, username=email, password="nope", tenant=slug)
            for _ in range(limit)
        ]
    # from another address too: the lock is on the account
    async with client_at(identity) as client:
        locked = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert locked.status_code == 400
    assert locked.content == wrong[0].content
    assert "retry-after" not in locked.headers
    # a successful sign-in after the lock is over resets the count
    await identity.owner_sql("UPDATE login_throttle SET locked_until = now() - interval '1 second'")
    async with client_at(identity) as client:
        answer = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert answer.status_code == 200, answer.text


async def test_address_lockout_is_429_with_retry_after(identity: Identity) -> None:
    _tenant, slug, _user, email = await password_user(identity)
    address = f"192.0.2.{secrets.randbelow(250)}"
    async with client_at(identity, address) as client:
        for _ in range(identity.settings.login_address_max_failures):
            answer = await password_token(
                client, username=f"x{secrets.token_hex(4)}@example.com", password="p", tenant=slug
            )
            assert answer.status_code == 400
        locked = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert locked.status_code == 429
    assert locked.json()["error"] == "invalid_grant"
    assert 0 < int(locked.headers["retry-after"]) <= identity.settings.login_lockout_seconds + 1
    async with client_at(identity) as client:
        elsewhere = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert elsewhere.status_code == 200, elsewhere.text


async def test_bad_input_is_invalid_request(identity: Identity) -> None:
    async with client_at(identity) as client:
        missing = await client.post("/v1/token", data={"grant_type": "password", "username": "a"})
        no_grant = await client.post("/v1/token", data={"username": "a"})
        unknown = await client.post("/v1/token", data={"grant_type": "implicit"})
        as_json = await client.post("/v1/token", json={"grant_type": "password"})
        too_long = await client.post(
            "/v1/token", data={"grant_type": "password", "username": "a" * 300}
        )
        twice = await client.post(
            "/v1/token",
            content=b"grant_type=password&grant_type=password",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        no_refresh = await client.post("/v1/token", data={"grant_type": "refresh_token"})
    for answer in (missing, no_grant, as_json, too_long, twice, no_refresh):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_request"
    assert "password" in missing.json()["error_description"]
    assert "grant_type" in no_grant.json()["error_description"]
    assert "username" in too_long.json()["error_description"]
    assert "a" * 300 not in too_long.text
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "unsupported_grant_type"


async def test_client_credentials(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    account, client_id, secret = await service_account(
        identity, tenant, ["plans:read", "plans:write"]
    )
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    async with client_at(identity) as client:
        by_basic = await client.post(
            "/v1/token",
            data={"grant_type": "client_credentials"},
            headers={"authorization": f"Basic {basic}"},
        )
        by_form = await client.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "plans:read",
            },
        )
        wider = await client.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "plans:read plans:approve",
            },
        )
        wrong = await client.post(
            "/v1/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
        )
        unknown = await client.post(
            "/v1/token",
            data={"grant_type": "client_credentials", "client_id": "sa_nope", "client_secret": "x"},
        )
        anonymous = await client.post("/v1/token", data={"grant_type": "client_credentials"})
    assert by_basic.status_code == 200, by_basic.text
    assert "refresh_token" not in by_basic.json()
    got = claims(by_basic.json()["access_token"])
    assert (got["sub"], got["tid"], got["kind"]) == (str(account), str(tenant), "service")
    assert got["caps"] == ["plans:read", "plans:write"]
    assert got["client_id"] == client_id
    assert by_form.status_code == 200, by_form.text
    assert claims(by_form.json()["access_token"])["caps"] == ["plans:read"]
    assert by_form.json()["scope"] == "plans:read"
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    for answer in (wrong, unknown, anonymous):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert wrong.content == unknown.content


async def test_client_credentials_platform_and_disabled(identity: Identity) -> None:
    account, client_id, secret = await service_account(
        identity, None, ["*"], name=f"ops-{secrets.token_hex(4)}", kind="platform"
    )
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    async with client_at(identity) as client:
        answer = await client.post("/v1/token", data=form)
        assert answer.status_code == 200, answer.text
        got = claims(answer.json()["access_token"])
        assert got["kind"] == "platform"
        assert "tid" not in got
        assert got["caps"] == ["*"]
        await identity.owner_sql(
            "UPDATE service_accounts SET status = 'disabled' WHERE service_account_id = :a",
            a=account,
        )
        refused = await client.post("/v1/token", data=form)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


async def test_openapi_documents_the_token_endpoint(identity: Identity) -> None:
    # this area's router alone: the test is about its documentation, not other areas'
    app = FastAPI()
    app.include_router(tokens.routes)
    spec = app.openapi()
    post = spec["paths"]["/v1/token"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert {"200", "400", "401", "429"} <= set(post["responses"])
