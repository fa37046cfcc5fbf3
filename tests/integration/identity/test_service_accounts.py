"""Service accounts: created with a hashed secret shown once, rotated, disabled; the
platform operator makes platform/service ones, tenant admins their tenant's."""

from __future__ import annotations

import hashlib
from uuid import UUID

import pytest

from agentsuite_identity.domain.errors import DomainError, Forbidden, Invalid
from agentsuite_identity.handlers.service_accounts import (
    create_service_account,
    disable,
    rotate_secret,
)
from tests.integration.identity.harness import Identity


async def test_created_with_hashed_secret_and_event(identity: Identity) -> None:
    async with identity.deps.runtime.uow(None) as uow:
        account, client_id, secret = await create_service_account(
            uow, name=f"svc-{client_id_suffix()}", kind="service", capabilities=["users:read"]
        )
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
    async with identity.deps.runtime.uow(tenant) as uow:
        account, _, first = await create_service_account(
            uow,
            name="robot",
            kind="tenant",
            tenant_id=tenant,
            capabilities=["plans:read"],
            creator_capabilities=["*"],
        )
    async with identity.deps.runtime.uow(tenant) as uow:
        second = await rotate_secret(uow, account)
    assert second != first
    async with identity.deps.runtime.uow(tenant) as uow:
        assert await disable(uow, account) is True
    async with identity.deps.runtime.uow(tenant) as uow:
        assert await disable(uow, account) is False
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
    async with identity.deps.runtime.uow(tenant) as uow:
        with pytest.raises(error) as caught:
            await create_service_account(
                uow,
                name="x",
                kind=kind,  # type: ignore[arg-type]
                tenant_id=tenant,
                capabilities=caps,
                creator_capabilities=creator,
            )
    assert caught.value.field == "capabilities"


def client_id_suffix() -> str:
    import secrets

    return secrets.token_hex(4)
