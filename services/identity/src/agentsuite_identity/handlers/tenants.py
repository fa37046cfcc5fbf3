"""Tenants: bootstrap (tenant, system roles, first admin, default org, in one transaction),
profile changes, suspension, reactivation, soft deletion and the purge after its grace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantReactivated,
    TenantSuspended,
    TenantUpdated,
)
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import directory
from agentsuite_identity.domain.directory import TenantStatus, UserStatus
from agentsuite_identity.domain.errors import Conflict, NotFound
from agentsuite_identity.handlers import invitations
from agentsuite_identity.handlers.authz import assign_role, seed_system_roles
from agentsuite_identity.handlers.orgs import add_org
from agentsuite_identity.handlers.users import Email, Name, Password, Slug, VersionCheck, add_user
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.jobs import Handler, Job

PURGE_JOB = "tenants.purge"

Tier = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class Admin(BaseModel):
    email: Email
    display_name: Name
    password: Password | None = Field(
        default=None, description="Omitted: the admin is invited and sets it on acceptance."
    )


class CreateTenant(BaseModel):
    slug: Slug
    name: Name
    tier: Tier = "standard"
    admin: Admin


class UpdateTenant(BaseModel):
    name: Name | None = None
    tier: Tier | None = None


class Suspend(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


@dataclass(frozen=True)
class ChangeTenant:
    tenant_id: UUID
    changes: UpdateTenant
    check: VersionCheck


@dataclass(frozen=True)
class SuspendTenant:
    tenant_id: UUID
    reason: str


@dataclass(frozen=True)
class ReactivateTenant:
    tenant_id: UUID


@dataclass(frozen=True)
class DeleteTenant:
    tenant_id: UUID


class TenantView(BaseModel):
    tenant_id: UUID
    slug: str
    name: str
    tier: str
    status: str
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    suspended_at: datetime | None
    deleted_at: datetime | None
    purge_after: datetime | None
    version: int

    @classmethod
    def of(cls, row: RowMapping) -> TenantView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class Bootstrapped(BaseModel):
    tenant: TenantView
    admin_user_id: UUID
    default_org_id: UUID
    invitation_token: str | None = Field(
        default=None, description="Only when the admin was invited: shown once."
    )


async def create_tenant(cmd: CreateTenant, uow: IdentityUow, deps: Deps) -> Bootstrapped:
    """In the unit of work of the NEW tenant's id (RLS checks every row against it)."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None
    if await uow.tenants.get(tenant_id) is not None:
        raise Conflict("conflict", "this request already created a tenant", field="tenant_id")
    if not await uow.tenants.add(tenant_id, cmd.slug, cmd.name, cmd.tier):
        raise Conflict("conflict", f"the slug {cmd.slug!r} is taken", field="slug")
    uow.emit(TenantCreated(tenant_id=tenant_id, slug=cmd.slug, name=cmd.name, tier=cmd.tier))
    roles = await seed_system_roles(uow)
    admin = cmd.admin
    hashed = None if admin.password is None else await deps.passwords.hash(admin.password)
    user_id = await add_user(
        uow,
        email=admin.email,
        display_name=admin.display_name,
        password_hash=hashed,
        status=UserStatus.ACTIVE if hashed else UserStatus.INVITED,
    )
    org_id = await add_org(uow, slug=directory.DEFAULT_ORG_SLUG, name=cmd.name, owner_id=user_id)
    await assign_role(uow, roles["owner"], user_id)
    token = None
    if hashed is None:
        issued = await invitations.issue(
            uow,
            org_id=org_id,
            email=admin.email,
            role="owner",
            settings=deps.settings,
            created_by=None,
        )
        token = issued.token
    row = await get_tenant(uow, tenant_id)
    return Bootstrapped(
        tenant=TenantView.of(row),
        admin_user_id=user_id,
        default_org_id=org_id,
        invitation_token=token,
    )


async def get_tenant(uow: IdentityUow, tenant_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.tenants.get(tenant_id, lock=lock)
    if row is None:
        raise NotFound("not_found", f"tenant {tenant_id} not found", field="tenant_id")
    return row


async def update_tenant(cmd: ChangeTenant, uow: IdentityUow, deps: Deps) -> TenantView:
    tenant_id = cmd.tenant_id
    row = await get_tenant(uow, tenant_id, lock=True)
    cmd.check(row["version"])
    if row["status"] == TenantStatus.DELETED:
        raise Conflict("conflict", "the tenant is deleted", field="tenant_id")
    values = cmd.changes.model_dump(exclude_none=True)
    if values:
        row = await uow.tenants.change(tenant_id, **values)
        uow.emit(
            TenantUpdated(tenant_id=tenant_id, slug=row["slug"], name=row["name"], tier=row["tier"])
        )
        await uow.commit()
    return TenantView.of(row)


async def suspend_tenant(cmd: SuspendTenant, uow: IdentityUow, deps: Deps) -> TenantView:
    """Its tokens stop at identity at once (the live check), elsewhere within their TTL."""
    tenant_id = cmd.tenant_id
    row = await get_tenant(uow, tenant_id, lock=True)
    directory.tenant_move(row["status"], TenantStatus.SUSPENDED)
    row = await uow.tenants.change(
        tenant_id,
        status=TenantStatus.SUSPENDED.value,
        status_reason=cmd.reason,
        suspended_at=datetime.now(UTC),
    )
    uow.emit(TenantSuspended(tenant_id=tenant_id, reason=cmd.reason))
    await uow.commit()
    return TenantView.of(row)


async def reactivate_tenant(cmd: ReactivateTenant, uow: IdentityUow, deps: Deps) -> TenantView:
    tenant_id = cmd.tenant_id
    row = await get_tenant(uow, tenant_id, lock=True)
    if row["status"] == TenantStatus.ACTIVE:
        raise Conflict("conflict", "the tenant is already active", field="status")
    directory.tenant_move(row["status"], TenantStatus.ACTIVE)
    row = await uow.tenants.change(
        tenant_id, status=TenantStatus.ACTIVE.value, status_reason=None, suspended_at=None
    )
    uow.emit(TenantReactivated(tenant_id=tenant_id))
    await uow.commit()
    return TenantView.of(row)


async def delete_tenant(cmd: DeleteTenant, uow: IdentityUow, deps: Deps) -> TenantView:
    """Soft: the tenant stops at once; its rows go when the purge job runs after the grace."""
    tenant_id = cmd.tenant_id
    row = await get_tenant(uow, tenant_id, lock=True)
    directory.tenant_move(row["status"], TenantStatus.DELETED)
    now = datetime.now(UTC)
    purge_after = now + timedelta(days=deps.settings.tenant_purge_grace_days)
    row = await uow.tenants.change(
        tenant_id, status=TenantStatus.DELETED.value, deleted_at=now, purge_after=purge_after
    )
    await uow.jobs.schedule(
        PURGE_JOB, payload={"tenant_id": str(tenant_id)}, run_at=purge_after, key=str(tenant_id)
    )
    uow.emit(TenantDeleted(tenant_id=tenant_id, purge_after=purge_after))
    await uow.commit()
    return TenantView.of(row)


async def purge(job: Job, uow: IdentityUow) -> None:
    """The `tenants.purge` job: every row of a deleted tenant, in every identity table."""
    tenant_id = UUID(str(job.payload["tenant_id"]))
    row = await uow.tenants.get(tenant_id, lock=True)
    if row is None or row["status"] != TenantStatus.DELETED:
        return  # gone already, or (never: deleted is final) brought back
    await uow.tenants.purge(tenant_id)
    await uow.commit()


JOBS: dict[str, Handler[IdentityUow]] = {
    PURGE_JOB: purge,
    invitations.EXPIRE_JOB: invitations.expire,
}
"""The directory's jobs, for `jobs.jobs(deps)`."""
