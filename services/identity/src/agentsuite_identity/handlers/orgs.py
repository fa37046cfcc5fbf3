"""Organizations of a tenant and their members."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.envelope import Subject
from agentsuite_contracts.identity import (
    ApiKeyRevoked,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    OrgCreated,
    OrgDeleted,
    OrgRole,
    OrgUpdated,
)
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain import directory
from agentsuite_identity.domain.capabilities import SYSTEM_ROLES, matches, within_org
from agentsuite_identity.domain.directory import UserStatus
from agentsuite_identity.domain.errors import Conflict, Forbidden, Invalid, NotFound
from agentsuite_identity.handlers.users import Name, Slug, VersionCheck, get_user
from agentsuite_identity.handlers.users import OrgRole as OrgRoleField
from agentsuite_identity.repositories.authz import touch
from agentsuite_identity.uow import IdentityUow

ORG_DELETED = "org_deleted"


class CreateOrg(BaseModel):
    slug: Slug
    name: Name
    owner_id: UUID | None = None


class UpdateOrg(BaseModel):
    slug: Slug | None = None
    name: Name | None = None


class PutMember(BaseModel):
    role: OrgRoleField


@dataclass(frozen=True)
class NewOrg:
    fields: CreateOrg
    acting_user: UUID | None
    """The caller, when a user: the owner unless `fields.owner_id` names another."""


@dataclass(frozen=True)
class ChangeOrg:
    org_id: UUID
    changes: UpdateOrg
    check: VersionCheck


@dataclass(frozen=True)
class DeleteOrg:
    org_id: UUID


@dataclass(frozen=True)
class SetMember:
    org_id: UUID
    user_id: UUID
    role: str
    granter_capabilities: Collection[str] | None = None
    """A route's caller's: only a standing it could hold itself may be given."""


@dataclass(frozen=True)
class RemoveMember:
    org_id: UUID
    user_id: UUID


class OrgView(BaseModel):
    org_id: UUID
    slug: str
    name: str
    owner_id: UUID
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: RowMapping) -> OrgView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class MemberView(BaseModel):
    user_id: UUID
    role: str
    email: str
    display_name: str
    status: str
    created_at: datetime

    @classmethod
    def of(cls, row: RowMapping) -> MemberView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


async def add_org(uow: IdentityUow, *, slug: str, name: str, owner_id: UUID) -> UUID:
    """The org with `owner_id` as its owner member; events, authz touch. No commit."""
    assert uow.tenant_id is not None
    org_id = uuid7()
    if not await uow.orgs.add(org_id, uow.tenant_id, slug, name, owner_id):
        raise Conflict("conflict", f"an organization with slug {slug!r} exists", field="slug")
    uow.emit(OrgCreated(org_id=org_id, slug=slug, name=name, owner_id=owner_id))
    await uow.orgs.put_member(org_id, uow.tenant_id, owner_id, "owner")
    uow.emit(MemberAdded(org_id=org_id, user_id=owner_id, role=OrgRole.OWNER))
    await touch(uow.roles)
    return org_id


async def create_org(cmd: NewOrg, uow: IdentityUow, deps: Deps) -> OrgView:
    """No commit: the route saves the idempotent response in the same transaction."""
    fields = cmd.fields
    owner = fields.owner_id or cmd.acting_user
    if owner is None:
        raise Invalid("invalid", "required when the caller is not a user", field="owner_id")
    await _active_user(uow, owner, field="owner_id")
    org_id = await add_org(uow, slug=fields.slug, name=fields.name, owner_id=owner)
    row = await get_org(uow, org_id)
    return OrgView.of(row)


async def get_org(uow: IdentityUow, org_id: UUID, *, lock: bool = False) -> RowMapping:
    row = await uow.orgs.get(org_id, lock=lock)
    if row is None:
        raise NotFound("not_found", f"organization {org_id} not found", field="org_id")
    return row


async def update_org(cmd: ChangeOrg, uow: IdentityUow, deps: Deps) -> OrgView:
    org_id = cmd.org_id
    row = await get_org(uow, org_id, lock=True)
    cmd.check(row["version"])
    values = cmd.changes.model_dump(exclude_none=True)
    if values:
        moved = values.get("slug", row["slug"]) != row["slug"]
        if moved and await uow.orgs.slug_taken(values["slug"]):
            raise Conflict(
                "conflict", f"an organization with slug {values['slug']!r} exists", field="slug"
            )
        row = await uow.orgs.change(org_id, **values)
        uow.emit(OrgUpdated(org_id=org_id, slug=row["slug"], name=row["name"]))
        await uow.commit()
    return OrgView.of(row)


async def delete_org(cmd: DeleteOrg, uow: IdentityUow, deps: Deps) -> None:
    """Members and invitations go with it (FK cascade). Its API keys are revoked, not
    left dangling: a key row without its org is refused at the exchange, but only a
    revocation puts the key on the revocation list, which stops the tokens already
    exchanged at every other service."""
    org_id = cmd.org_id
    await get_org(uow, org_id, lock=True)
    for key in await uow.api_keys.revoke_org(org_id, ORG_DELETED):
        uow.emit(
            ApiKeyRevoked(api_key_id=key.api_key_id, prefix=key.prefix, reason=ORG_DELETED),
            subject=Subject(type="api_key", id=str(key.api_key_id)),
        )
    await uow.orgs.remove(org_id)
    uow.emit(OrgDeleted(org_id=org_id))
    await touch(uow.roles)
    await uow.commit()


def may_confer(granter_capabilities: Collection[str], role: str) -> None:
    """Refuse a standing that confers what the granter does not hold itself."""
    held = list(granter_capabilities)
    conferred = within_org(SYSTEM_ROLES.get(role, ()))
    if any(not any(matches(p, c) for p in held) for c in conferred):
        raise Forbidden("forbidden", f"the caller cannot grant the {role} standing", field="role")


async def put_member(cmd: SetMember, uow: IdentityUow, deps: Deps) -> tuple[MemberView, bool]:
    """Add `user_id` with `role`, or change its role; (member, whether it was added).

    A standing is a grant (an org owner holds `within_org(*)` there): with
    `granter_capabilities` (a route's caller), only a standing the caller could hold
    itself may be given, so `orgs:write` alone does not make its holder an org owner."""
    assert uow.tenant_id is not None
    org_id, user_id = cmd.org_id, cmd.user_id
    if cmd.granter_capabilities is not None:
        may_confer(cmd.granter_capabilities, cmd.role)
    # the org row lock serialises membership changes, so two demotions cannot both pass
    # the last-owner check
    await get_org(uow, org_id, lock=True)
    await _active_user(uow, user_id, field="user_id", missing=NotFound)
    previous = await uow.orgs.member_role(org_id, user_id)
    if previous == cmd.role:
        return await _member(uow, org_id, user_id), False
    if previous is not None:
        owners = await uow.orgs.owners(org_id)
        if directory.last_owner_left(owners, previous, cmd.role):
            raise Conflict(
                "conflict", "the organization's last owner cannot be demoted", field="role"
            )
    await uow.orgs.put_member(org_id, uow.tenant_id, user_id, cmd.role)
    if previous is None:
        uow.emit(MemberAdded(org_id=org_id, user_id=user_id, role=OrgRole(cmd.role)))
    else:
        uow.emit(
            MemberRoleChanged(
                org_id=org_id,
                user_id=user_id,
                role=OrgRole(cmd.role),
                previous_role=OrgRole(previous),
            )
        )
    await touch(uow.roles)
    view = await _member(uow, org_id, user_id)
    await uow.commit()
    return view, previous is None


async def remove_member(cmd: RemoveMember, uow: IdentityUow, deps: Deps) -> None:
    org_id, user_id = cmd.org_id, cmd.user_id
    await get_org(uow, org_id, lock=True)
    role = await uow.orgs.member_role(org_id, user_id)
    if role is None:
        raise NotFound("not_found", f"user {user_id} is not a member", field="user_id")
    if directory.last_owner_left(await uow.orgs.owners(org_id), role, None):
        raise Conflict(
            "conflict", "the organization's last owner cannot be removed", field="user_id"
        )
    await uow.orgs.remove_member(org_id, user_id)
    uow.emit(MemberRemoved(org_id=org_id, user_id=user_id))
    await touch(uow.roles)
    await uow.commit()


async def _member(uow: IdentityUow, org_id: UUID, user_id: UUID) -> MemberView:
    row = await uow.orgs.member(org_id, user_id)
    if row is None:
        raise NotFound("not_found", f"user {user_id} is not a member", field="user_id")
    return MemberView.of(row)


async def _active_user(
    uow: IdentityUow,
    user_id: UUID,
    *,
    field: str,
    missing: type[Invalid] | type[NotFound] = Invalid,
) -> None:
    try:
        row = await get_user(uow, user_id)
    except NotFound:
        code = "not_found" if missing is NotFound else "invalid"
        raise missing(code, f"user {user_id} not found", field=field) from None
    if row["status"] == UserStatus.DEACTIVATED:
        raise Conflict("conflict", f"user {user_id} is deactivated", field=field)
