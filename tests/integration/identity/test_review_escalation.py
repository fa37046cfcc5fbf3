"""Review findings: ways a tenant principal could reach more than it was granted."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from uuid import UUID

import pytest

from agentsuite_identity.domain.errors import Forbidden
from agentsuite_identity.handlers import service_accounts as accounts
from tests.integration.identity.directory_support import (
    PASSWORD,
    bearer,
    bootstrap,
    user_headers,
)
from tests.integration.identity.harness import Identity


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def _user(identity: Identity, headers: dict[str, str]) -> tuple[UUID, str]:
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    made = await identity.client.post(
        "/v1/users",
        json={"email": email, "display_name": "U", "password": PASSWORD},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return UUID(made.json()["user_id"]), email


async def test_org_owner_standing_does_not_grant_tenant_administration(identity: Identity) -> None:
    """A user allowed only `orgs:write` makes an org (and so owns it); its org-scoped token
    must not carry `*` or the tenant's administration capabilities, which every identity
    route reads tenant-wide (roles:write would let it assign itself the owner role)."""
    tenant = await bootstrap(identity)
    user, email = await _user(identity, tenant.headers)
    org_slug = f"o-{uuid.uuid4().hex[:8]}"
    made = await identity.client.post(
        "/v1/orgs",
        json={"slug": org_slug, "name": "Mine"},
        headers=await user_headers(identity, tenant.tenant_id, user, ["orgs:write"]),
    )
    assert made.status_code == 201, made.text
    signed = await identity.client.post(
        "/v1/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": PASSWORD,
            "tenant": tenant.slug,
            "org": org_slug,
        },
    )
    assert signed.status_code == 200, signed.text
    caps = set(_claims(signed.json()["access_token"])["caps"])
    assert "*" not in caps
    assert not caps & {"roles:write", "policies:write", "users:write", "tenant:write"}
    assert "plans:approve" in caps  # the org's own work is still the owner's to do
    token = signed.json()["access_token"]
    role = await identity.client.post(
        "/v1/roles", json={"name": "mine", "capabilities": ["*"]}, headers=bearer(token)
    )
    assert role.status_code == 403, role.text
    # the refresh grant recomputes the same, narrower set
    again = await identity.client.post(
        "/v1/token",
        data={"grant_type": "refresh_token", "refresh_token": signed.json()["refresh_token"]},
    )
    assert again.status_code == 200, again.text
    assert "*" not in _claims(again.json()["access_token"])["caps"]


async def test_org_key_ceiling_has_no_tenant_administration(identity: Identity) -> None:
    """An org's API key (made by an org admin, scopes empty) must not reach roles:write."""
    tenant = await bootstrap(identity)
    made = await identity.client.post(
        "/v1/api-keys",
        json={"name": "org key", "org_id": str(tenant.org_id)},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    exchanged = await identity.client.post(
        "/v1/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": made.json()["key"],
            "subject_token_type": "urn:agentsuite:params:oauth:token-type:api-key",
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    caps = set(_claims(exchanged.json()["access_token"])["caps"])
    assert caps
    assert not caps & {"roles:write", "policies:write", "users:write", "tenant:write"}


async def _strong_account(identity: Identity) -> tuple[Any, UUID]:
    tenant = await bootstrap(identity)
    made = await identity.client.post(
        "/v1/service-accounts",
        json={"name": "deployer", "capabilities": ["roles:write", "roles:read"]},
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    return tenant, UUID(made.json()["service_account_id"])


async def test_rotating_a_secret_is_bounded_by_the_callers_capabilities(
    identity: Identity,
) -> None:
    """Rotating gives the caller the account's secret, i.e. its capabilities: a caller
    holding only `service_accounts:write` must not take over a `roles:write` account."""
    tenant, account = await _strong_account(identity)
    async with identity.deps.runtime.uow(tenant.tenant_id) as uow:
        with pytest.raises(Forbidden) as refused:
            await accounts.rotate_secret(
                accounts.RotateSecret(account, caller_capabilities=["service_accounts:write"]),
                uow,
                identity.deps,
            )
    assert refused.value.field == "service_account_id"
    async with identity.deps.runtime.uow(tenant.tenant_id) as uow:
        await accounts.rotate_secret(
            accounts.RotateSecret(account, caller_capabilities=["roles:*"]), uow, identity.deps
        )


async def test_rotate_route_refuses_a_weaker_caller(identity: Identity) -> None:
    tenant, account = await _strong_account(identity)
    user, _ = await _user(identity, tenant.headers)
    weak = await user_headers(identity, tenant.tenant_id, user, ["service_accounts:write"])
    rotated = await identity.client.post(
        f"/v1/service-accounts/{account}/rotate-secret", headers=weak
    )
    assert rotated.status_code == 403, rotated.text
    assert rotated.json()["field"] == "service_account_id"


async def test_a_standing_is_bounded_by_the_granters_capabilities(identity: Identity) -> None:
    """`orgs:write` alone must not let its holder make itself (or anyone) an org owner."""
    from agentsuite_identity.handlers.orgs import SetMember, put_member

    tenant = await bootstrap(identity)
    user, _ = await _user(identity, tenant.headers)
    async with identity.deps.runtime.uow(tenant.tenant_id) as uow:
        with pytest.raises(Forbidden) as refused:
            await put_member(
                SetMember(tenant.org_id, user, "owner", granter_capabilities=["orgs:write"]),
                uow,
                identity.deps,
            )
    assert refused.value.field == "role"
    async with identity.deps.runtime.uow(tenant.tenant_id) as uow:
        _, added = await put_member(
            SetMember(tenant.org_id, user, "owner", granter_capabilities=["*"]),
            uow,
            identity.deps,
        )
    assert added


async def test_member_route_refuses_a_standing_beyond_the_caller(identity: Identity) -> None:
    tenant = await bootstrap(identity)
    user, _ = await _user(identity, tenant.headers)
    weak = await user_headers(identity, tenant.tenant_id, user, ["orgs:write", "orgs:read"])
    put = await identity.client.put(
        f"/v1/orgs/{tenant.org_id}/members/{user}", json={"role": "owner"}, headers=weak
    )
    assert put.status_code == 403, put.text


async def test_invitation_route_refuses_a_standing_beyond_the_caller(identity: Identity) -> None:
    """An invitation is a deferred grant: `users:invite` alone cannot invite an owner."""
    tenant = await bootstrap(identity)
    user, _ = await _user(identity, tenant.headers)
    weak = await user_headers(identity, tenant.tenant_id, user, ["users:invite", "orgs:read"])
    invited = await identity.client.post(
        f"/v1/orgs/{tenant.org_id}/invitations",
        json={"email": "new-owner@example.com", "role": "owner"},
        headers=weak,
    )
    assert invited.status_code == 403, invited.text
    assert invited.json()["field"] == "role"
    as_member = await identity.client.post(
        f"/v1/orgs/{tenant.org_id}/invitations",
        json={"email": "new-member@example.com", "role": "member"},
        headers=tenant.headers,
    )
    assert as_member.status_code == 201, as_member.text
