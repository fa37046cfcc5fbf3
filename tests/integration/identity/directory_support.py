"""What the directory's integration tests share: a platform token, a bootstrapped tenant
with its admin's token, and the events a tenant emitted."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import running_job

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def platform(
    identity: Identity, caps: tuple[str, ...] = ("tenants:read", "tenants:write")
) -> dict[str, str]:
    token = await identity.mint(None, "platform-operator", list(caps), kind=PrincipalKind.PLATFORM)
    return bearer(token)


@dataclass
class Tenant:
    tenant_id: UUID
    admin_id: UUID
    org_id: UUID
    slug: str
    headers: dict[str, str]
    body: dict[str, Any]


def slug() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


async def bootstrap(identity: Identity, *, password: str | None = PASSWORD) -> Tenant:
    """A tenant made through the API, and an owner token for its admin."""
    name = slug()
    admin: dict[str, Any] = {"email": f"admin@{name}.example.com", "display_name": "Admin"}
    if password is not None:
        admin["password"] = password
    response = await identity.client.post(
        "/v1/tenants",
        json={"slug": name, "name": f"Tenant {name}", "tier": "standard", "admin": admin},
        headers=await platform(identity),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    tenant_id = UUID(body["tenant"]["tenant_id"])
    admin_id = UUID(body["admin_user_id"])
    token = await identity.mint(tenant_id, admin_id, ["*"])
    return Tenant(tenant_id, admin_id, UUID(body["default_org_id"]), name, bearer(token), body)


async def user_headers(
    identity: Identity, tenant: UUID, user: UUID, caps: list[str]
) -> dict[str, str]:
    return bearer(await identity.mint(tenant, user, caps))


async def events(identity: Identity, tenant: UUID) -> list[str]:
    rows = await identity.owner_sql(
        "SELECT type FROM outbox WHERE tenant_id = :t ORDER BY id", t=tenant
    )
    return [r[0] for r in rows]


async def run_job(identity: Identity, tenant: UUID, kind: str, key: str) -> None:
    """Run the scheduled job `kind`/`key` of `tenant` now, with its registered handler's
    code, whatever its run_at (the tests cannot wait out a grace period)."""
    from agentsuite_identity.handlers.tenants import JOBS

    [row] = await identity.owner_sql(
        "SELECT id, payload FROM jobs WHERE tenant_id = :t AND kind = :k AND key = :key",
        t=tenant,
        k=kind,
        key=key,
    )
    job = running_job(kind, key, row[1], tenant=tenant, job_id=row[0])
    async with identity.deps.runtime.uow(tenant) as uow:
        await JOBS[kind](job, uow)


async def sign_in(identity: Identity, slug: str, email: str, password: str) -> httpx.Response:
    """The password grant from an address of its own (failures count per address, and the
    tests share one app)."""
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    transport = httpx.ASGITransport(app=identity.app, client=(address, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
        return await client.post(
            "/v1/token",
            data={
                "grant_type": "password",
                "username": email,
                "password": password,
                "tenant": slug,
            },
        )


async def refresh(identity: Identity, token: str) -> httpx.Response:
    return await identity.client.post(
        "/v1/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )
