"""Service accounts: created with a hashed secret shown once, rotated, disabled; the
platform operator makes platform/service ones, tenant admins their tenant's."""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest

from agentsuite_identity.domain.errors import DomainError, Forbidden, Invalid
from agentsuite_identity.handlers.service_accounts import (
    DisableAccount,
    NewServiceAccount,
    RotateSecret,
    create_service_account,
    disable,
    rotate_secret,
)
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import service_account


async def test_created_with_hashed_secret_and_event(identity: Identity) -> None:
    async with identity.deps.runtime.uow(None) as uow:
        cmd = NewServiceAccount(
            name=f"svc-{client_id_suffix()}", kind="service", capabilities=["users:read"]
        )
        account, client_id, secret = await create_service_account(cmd, uow, identity.deps)
    assert client_id.startswith("sa_")
    assert len(secret) >= 40
    [row] = await identity.owner_sql(
        "SELECT tenant_id, secret_hash, capabilities, status FROM service_accounts "
        "WHERE service_account_id = :a",
        a=account,
    )
    assert row.tenant_id is None
    assert row.status == "active"
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.secret_hash
    [event] = await identity.owner_sql(
        "SELECT type, value FROM outbox WHERE key = :a", a=str(account)
    )
    assert event.type == "identity.service_account.created"
    assert client_id.encode() in event.value
    assert secret.encode() not in event.value


async def test_rotate_and_disable(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    account, _, first = await service_account(identity, tenant, ["plans:read"], creator=["*"])
    async with identity.deps.runtime.uow(tenant) as uow:
        second = await rotate_secret(RotateSecret(account), uow, identity.deps)
    assert second != first
    async with identity.deps.runtime.uow(tenant) as uow:
        assert await disable(DisableAccount(account), uow, identity.deps) is True
    async with identity.deps.runtime.uow(tenant) as uow:
        assert await disable(DisableAccount(account), uow, identity.deps) is False
    # another tenant does not see it
    other = await identity.bare_tenant()
    async with identity.deps.runtime.uow(other) as uow:
        assert await uow.service_accounts.get(account) is None


@pytest.mark.parametrize(
    ("kind", "caps", "creator", "error"),
    [
        ("tenant", ["tenants:write"], ["*"], Invalid),
        ("tenant", ["*"], ["*"], Invalid),
        ("tenant", ["plans:nope"], ["*"], Invalid),
        ("tenant", ["plans:approve"], ["plans:read"], Forbidden),
        ("tenant", ["plans:*"], ["plans:read"], Forbidden),
        ("service", ["*"], None, Invalid),
        ("platform", ["nope:x"], None, Invalid),
    ],
)
async def test_capabilities_checked(
    identity: Identity,
    kind: str,
    caps: list[str],
    creator: list[str] | None,
    error: type[DomainError],
) -> None:
    tenant: UUID | None = await identity.bare_tenant() if kind == "tenant" else None
    cmd = NewServiceAccount(
        name="x",
        kind=kind,  # type: ignore[arg-type]
        tenant_id=tenant,
        capabilities=caps,
        creator_capabilities=creator,
    )
    async with identity.deps.runtime.uow(tenant) as uow:
        with pytest.raises(error) as caught:
            await create_service_account(cmd, uow, identity.deps)
    assert caught.value.field == "capabilities"


def client_id_suffix() -> str:
    import secrets

    return secrets.token_hex(4)


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **extra}


async def test_tenant_admin_routes(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    admin = await identity.mint(
        tenant,
        await identity.bare_user(tenant),
        ["service_accounts:read", "service_accounts:write", "plans:*"],
    )
    body = {"name": "ci-bot", "capabilities": ["plans:read"]}
    created = await identity.client.post(
        "/v1/service-accounts", json=body, headers=bearer(admin, **{"Idempotency-Key": "k1"})
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["kind"] == "tenant"
    assert account["client_secret"]
    replay = await identity.client.post(
        "/v1/service-accounts", json=body, headers=bearer(admin, **{"Idempotency-Key": "k1"})
    )
    assert replay.status_code == 201
    assert replay.json()["service_account_id"] == account["service_account_id"]
    assert "client_secret" not in replay.json()  # never stored in clear for replays
    # the secret works, and rotating it retires the old one
    form = {
        "grant_type": "client_credentials",
        "client_id": account["client_id"],
        "client_secret": account["client_secret"],
    }
    assert (await identity.client.post("/v1/token", data=form)).status_code == 200
    sid = account["service_account_id"]
    rotated = await identity.client.post(
        f"/v1/service-accounts/{sid}/rotate-secret", headers=bearer(admin)
    )
    assert rotated.status_code == 200, rotated.text
    assert (await identity.client.post("/v1/token", data=form)).status_code == 401
    form["client_secret"] = rotated.json()["client_secret"]
    issued = await identity.client.post("/v1/token", data=form)
    assert issued.status_code == 200
    sa_token = issued.json()["access_token"]
    listed = await identity.client.get("/v1/service-accounts?limit=1", headers=bearer(admin))
    assert listed.status_code == 200
    assert [a["service_account_id"] for a in listed.json()["items"]] == [sid]
    assert "client_secret" not in listed.text
    got = await identity.client.get(f"/v1/service-accounts/{sid}", headers=bearer(admin))
    assert got.status_code == 200
    # disabling stops its live token at identity at once, and it gets no new ones
    disabled = await identity.client.post(
        f"/v1/service-accounts/{sid}/disable", headers=bearer(admin)
    )
    assert disabled.json()["status"] == "disabled"
    assert (await identity.client.post("/v1/token", data=form)).status_code == 401
    live = await identity.client.get("/v1/service-accounts", headers=bearer(sa_token))
    assert live.status_code == 401
    # another tenant's admin sees nothing of it
    elsewhere = await identity.bare_tenant()
    other = await identity.mint(elsewhere, await identity.bare_user(elsewhere), ["*"])
    assert (
        await identity.client.get(f"/v1/service-accounts/{sid}", headers=bearer(other))
    ).status_code == 404


async def test_tenant_route_bad_input(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    admin = await identity.mint(
        tenant, await identity.bare_user(tenant), ["service_accounts:write", "plans:read"]
    )
    cases = [
        ({"name": "x", "capabilities": ["plans:bogus"]}, 422, "capabilities"),
        ({"name": "x", "capabilities": ["plans:approve"]}, 403, None),
        ({"name": "", "capabilities": []}, 422, "name"),
        ({"name": "x" * 101, "capabilities": []}, 422, "name"),
        ({"capabilities": []}, 422, "name"),
    ]
    for body, status, field in cases:
        answer = await identity.client.post(
            "/v1/service-accounts", json=body, headers=bearer(admin)
        )
        assert answer.status_code == status, (body, answer.text)
        if field is not None:
            assert field in str(answer.json()["errors"])
    [count] = await identity.owner_sql(
        "SELECT count(*) AS n FROM service_accounts WHERE tenant_id = :t", t=tenant
    )
    assert count.n == 0


async def test_platform_routes(identity: Identity) -> None:
    operator = await identity.mint(
        None, "operator", ["platform_accounts:write"], kind=PrincipalKind.PLATFORM
    )
    name = f"planner-{client_id_suffix()}"
    created = await identity.client.post(
        "/v1/platform/service-accounts",
        json={"name": name, "kind": "service", "capabilities": ["authorize:check"]},
        headers=bearer(operator),
    )
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "service"
    listed = await identity.client.get("/v1/platform/service-accounts", headers=bearer(operator))
    assert name in {a["name"] for a in listed.json()["items"]}
    owned = await identity.bare_tenant()
    tenant_owner = await identity.mint(owned, await identity.bare_user(owned), ["*"])
    refused = await identity.client.post(
        "/v1/platform/service-accounts",
        json={"name": "evil", "kind": "platform", "capabilities": ["*"]},
        headers=bearer(tenant_owner),
    )
    assert refused.status_code == 403
    assert (
        await identity.client.get("/v1/platform/service-accounts", headers=bearer(tenant_owner))
    ).status_code == 403
