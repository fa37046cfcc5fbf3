"""Scene setting the identity tests share: roles, orgs and memberships written straight to
the database (around the handlers, so a test reaches its point fast), service accounts, and
a job as the worker would hand it to its handler."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from agentsuite_identity.handlers.service_accounts import (
    Kind,
    NewServiceAccount,
    create_service_account,
)
from agentsuite_kit.jobs import Job, State
from tests.integration.identity.harness import Identity


async def grant_role(
    identity: Identity, tenant: UUID, user: UUID, caps: list[str], org: UUID | None = None
) -> UUID:
    """A custom role with `caps`, assigned to `user` tenant-wide (or within `org`)."""
    role = uuid.uuid4()
    await identity.owner_sql(
        "INSERT INTO roles (role_id, tenant_id, name, capabilities) VALUES (:r, :t, :n, :c)",
        r=role,
        t=tenant,
        n=f"role-{role.hex[:8]}",
        c=caps,
    )
    await identity.owner_sql(
        "INSERT INTO role_assignments (assignment_id, tenant_id, role_id, principal_id, scope, "
        "org_id) VALUES (:a, :t, :r, :p, :s, :o)",
        a=uuid.uuid4(),
        t=tenant,
        r=role,
        p=user,
        s="tenant" if org is None else "org",
        o=org,
    )
    return role


async def add_org(identity: Identity, tenant: UUID, owner: UUID) -> tuple[UUID, str]:
    """(org, slug) of a new org of `tenant` owned by `owner` (no membership yet)."""
    org, slug = uuid.uuid4(), f"org-{secrets.token_hex(4)}"
    await identity.owner_sql(
        "INSERT INTO orgs (org_id, tenant_id, slug, name, owner_id) VALUES (:o, :t, :s, 'O', :u)",
        o=org,
        t=tenant,
        s=slug,
        u=owner,
    )
    return org, slug


async def add_member(identity: Identity, tenant: UUID, org: UUID, user: UUID, role: str) -> None:
    await identity.owner_sql(
        "INSERT INTO members (org_id, user_id, tenant_id, role) VALUES (:o, :u, :t, :r)",
        o=org,
        u=user,
        t=tenant,
        r=role,
    )


async def member_of(identity: Identity, tenant: UUID, user: UUID, role: str) -> tuple[UUID, str]:
    """(org, slug) of a new org that `user` owns and is a member of with `role`."""
    org, slug = await add_org(identity, tenant, user)
    await add_member(identity, tenant, org, user, role)
    return org, slug


async def service_account(
    identity: Identity,
    tenant: UUID | None,
    caps: list[str],
    *,
    name: str = "robot",
    kind: Kind = "tenant",
    creator: list[str] | None = None,
) -> tuple[UUID, str, str]:
    """(id, client_id, secret) of a service account made by the handler; `tenant` None makes
    a platform or service one."""
    async with identity.deps.runtime.uow(tenant) as uow:
        cmd = NewServiceAccount(
            name=name, kind=kind, tenant_id=tenant, capabilities=caps, creator_capabilities=creator
        )
        return await create_service_account(cmd, uow, identity.deps)


def running_job(
    kind: str,
    key: str,
    payload: dict[str, Any],
    *,
    tenant: UUID | None = None,
    job_id: UUID | None = None,
) -> Job:
    """The job as a worker holding its lease would pass it to the handler, due now."""
    return Job(
        id=job_id or uuid.uuid4(),
        tenant_id=tenant,
        kind=kind,
        key=key,
        payload=payload,
        run_at=datetime.now(UTC),
        cron=None,
        timezone="UTC",
        state=State.RUNNING,
        attempts=1,
        max_attempts=5,
        lease_owner=None,
        last_error=None,
        correlation_id=None,
    )
