"""Roles and assignments: seeding, capabilities of a principal, the /v1/roles routes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from agentsuite_identity.domain.capabilities import SYSTEM_ROLES
from agentsuite_identity.handlers.authz import assign_role, seed_system_roles
from tests.integration.identity.harness import Identity


async def _org_member(identity: Identity, tenant: UUID, user: UUID, role: str) -> UUID:
    org = uuid.uuid4()
    await identity.owner_sql(
        "INSERT INTO orgs (org_id, tenant_id, slug, name, owner_id) "
        "VALUES (:o, :t, :slug, 'Org', :u)",
        o=org,
        t=tenant,
        slug=f"o-{org.hex[:10]}",
        u=user,
    )
    await identity.owner_sql(
        "INSERT INTO members (org_id, user_id, tenant_id, role) VALUES (:o, :u, :t, :r)",
        o=org,
        u=user,
        t=tenant,
        r=role,
    )
    return org


async def test_seed_assign_and_capabilities(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    runtime, access = identity.deps.runtime, identity.deps.access
    async with runtime.uow(tenant) as uow:
        ids = await seed_system_roles(uow)
        await uow.commit()
    assert set(ids) == {"owner", "admin", "member", "viewer"}
    org = await _org_member(identity, tenant, user, "admin")
    other_org = uuid.uuid4()
    async with runtime.uow(tenant) as uow:
        assert await access.capabilities(uow, user, None) == frozenset()
        await assign_role(uow, ids["viewer"], user)
        await assign_role(uow, ids["owner"], user, org_id=other_org)
        await assign_role(
            uow, ids["owner"], user, expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
        await assign_role(uow, ids["owner"], user, resource_type="plan", resource_id="p1")
        await uow.commit()
    async with runtime.uow(tenant) as uow:
        tenant_wide = await access.capabilities(uow, user, None)
        in_org = await access.capabilities(uow, user, org)
        in_other = await access.capabilities(uow, user, other_org)
    assert tenant_wide == frozenset(SYSTEM_ROLES["viewer"])
    assert in_org == frozenset(SYSTEM_ROLES["viewer"]) | frozenset(SYSTEM_ROLES["admin"])
    assert in_other == frozenset(SYSTEM_ROLES["viewer"]) | {"*"}
    rows = await identity.owner_sql(
        "SELECT authz_version FROM tenants WHERE tenant_id = :t", t=tenant
    )
    assert rows[0][0] >= 5
