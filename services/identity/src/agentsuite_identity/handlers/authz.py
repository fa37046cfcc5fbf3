"""Roles and role assignments: the commands every other area may call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.identity import (
    RoleAssigned,
    RoleCreated,
    RoleDeleted,
    RoleRevoked,
    RoleUpdated,
)
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.authz import validate_role
from agentsuite_identity.domain.capabilities import SYSTEM_ROLES
from agentsuite_identity.domain.errors import Conflict, Invalid, NotFound
from agentsuite_identity.repositories.authz import Row, touch
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.http.etag import Precondition


@dataclass(frozen=True)
class NewRole:
    name: str
    description: str
    capabilities: list[str]


@dataclass(frozen=True)
class ChangeRole:
    role_id: UUID
    changes: dict[str, Any]
    precondition: Precondition


@dataclass(frozen=True)
class DeleteRole:
    role_id: UUID


@dataclass(frozen=True)
class AssignRole:
    role_id: UUID
    principal_id: UUID
    org_id: UUID | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    expires_at: datetime | None = None
    created_by: UUID | None = None


@dataclass(frozen=True)
class RevokeAssignment:
    assignment_id: UUID


async def seed_system_roles(uow: IdentityUow) -> dict[str, UUID]:
    """Create the builtin roles (owner, admin, member, viewer) of the uow's tenant; their
    ids by name. Does not commit: the caller's tenant creation does."""
    ids: dict[str, UUID] = {}
    for name, capabilities in SYSTEM_ROLES.items():
        role_id = uuid7()
        description = f"System role: {name}."
        await uow.roles.add(
            {
                "role_id": role_id,
                "tenant_id": uow.tenant_id,
                "name": name,
                "description": description,
                "capabilities": list(capabilities),
                "builtin": True,
            }
        )
        uow.emit(
            RoleCreated(
                role_id=role_id,
                name=name,
                description=description,
                capabilities=list(capabilities),
                builtin=True,
            )
        )
        ids[name] = role_id
    await touch(uow.roles)
    return ids


def scope_of(org_id: UUID | None, resource_type: str | None, resource_id: str | None) -> str:
    if (resource_type is None) != (resource_id is None):
        raise Invalid("invalid", "resource_type and resource_id go together", field="resource_id")
    if resource_type is not None:
        return "resource"
    return "org" if org_id is not None else "tenant"


async def assign_role(
    uow: IdentityUow,
    role_id: UUID,
    principal_id: UUID,
    *,
    org_id: UUID | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    expires_at: datetime | None = None,
    created_by: UUID | None = None,
) -> UUID:
    """Grant `role_id` to `principal_id` (tenant-wide, in one org, or on one resource);
    the assignment's id. Does not commit."""
    scope = scope_of(org_id, resource_type, resource_id)
    if await uow.roles.get(role_id) is None:
        raise NotFound("not_found", f"role {role_id} not found", field="role_id")
    # the ids are read in the tenant's scope: another tenant's user or org (which the
    # foreign keys, blind to RLS, would accept) is as unknown as a made-up one
    if not await _principal_known(uow, principal_id):
        raise Invalid("invalid", f"no user or service account {principal_id}", field="principal_id")
    if org_id is not None and await uow.orgs.get(org_id) is None:
        raise Invalid("invalid", f"no organization {org_id}", field="org_id")
    assignment_id = uuid7()
    await uow.assignments.add(
        {
            "assignment_id": assignment_id,
            "tenant_id": uow.tenant_id,
            "role_id": role_id,
            "principal_id": principal_id,
            "scope": scope,
            "org_id": org_id,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "expires_at": expires_at,
            "created_by": created_by,
        }
    )
    uow.emit(
        RoleAssigned(
            role_id=role_id,
            user_id=principal_id,
            org_id=org_id,
            expires_at=expires_at,
            assignment_id=assignment_id,
            resource_type=resource_type,
            resource_id=resource_id,
        )
    )
    await touch(uow.assignments)
    return assignment_id


async def assign(cmd: AssignRole, uow: IdentityUow, deps: Deps) -> UUID:
    """The route's command: `assign_role`, which tenant creation also calls."""
    return await assign_role(
        uow,
        cmd.role_id,
        cmd.principal_id,
        org_id=cmd.org_id,
        resource_type=cmd.resource_type,
        resource_id=cmd.resource_id,
        expires_at=cmd.expires_at,
        created_by=cmd.created_by,
    )


async def _principal_known(uow: IdentityUow, principal_id: UUID) -> bool:
    if await uow.users.get(principal_id) is not None:
        return True
    account = await uow.service_accounts.get(principal_id)
    return account is not None and account.tenant_id == uow.tenant_id


def role_view(row: Row) -> dict[str, Any]:
    return {
        "role_id": row["role_id"],
        "name": row["name"],
        "description": row["description"],
        "capabilities": list(row["capabilities"]),
        "builtin": row["builtin"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


async def create_role(cmd: NewRole, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    name, description, capabilities = cmd.name, cmd.description, cmd.capabilities
    validate_role(name, description, capabilities)
    if await uow.roles.name_taken(name):
        raise Conflict("conflict", f"a role named {name!r} exists", field="name")
    role_id = uuid7()
    await uow.roles.add(
        {
            "role_id": role_id,
            "tenant_id": uow.tenant_id,
            "name": name,
            "description": description,
            "capabilities": capabilities,
            "builtin": False,
        }
    )
    uow.emit(
        RoleCreated(role_id=role_id, name=name, description=description, capabilities=capabilities)
    )
    await touch(uow.roles)
    row = await uow.roles.get(role_id)
    assert row is not None
    return role_view(row)


async def _changeable(uow: IdentityUow, role_id: UUID) -> Row:
    row = await uow.roles.get(role_id)
    if row is None:
        raise NotFound("not_found", f"role {role_id} not found")
    if row["builtin"]:
        raise Conflict("conflict", "a system role cannot be changed or deleted")
    return row


async def update_role(cmd: ChangeRole, uow: IdentityUow, deps: Deps) -> dict[str, Any]:
    role_id, precondition, changes = cmd.role_id, cmd.precondition, cmd.changes
    current = await _changeable(uow, role_id)
    precondition.check(current["version"])
    merged = {k: changes.get(k, current[k]) for k in ("name", "description", "capabilities")}
    validate_role(merged["name"], merged["description"], list(merged["capabilities"]))
    if merged["name"] != current["name"] and await uow.roles.name_taken(merged["name"], role_id):
        raise Conflict("conflict", f"a role named {merged['name']!r} exists", field="name")
    row = await uow.roles.update(role_id, current["version"], merged)
    if row is None:
        precondition.check(None)
        raise Conflict("conflict", "the role changed meanwhile")  # pragma: no cover
    uow.emit(
        RoleUpdated(
            role_id=role_id,
            name=row["name"],
            description=row["description"],
            capabilities=list(row["capabilities"]),
        )
    )
    await touch(uow.roles)
    return role_view(row)


async def delete_role(cmd: DeleteRole, uow: IdentityUow, deps: Deps) -> None:
    current = await _changeable(uow, cmd.role_id)
    await uow.roles.delete(cmd.role_id)
    uow.emit(RoleDeleted(role_id=cmd.role_id, name=current["name"]))
    await touch(uow.roles)


def assignment_view(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in row}


async def revoke_assignment(cmd: RevokeAssignment, uow: IdentityUow, deps: Deps) -> None:
    assignment_id = cmd.assignment_id
    row = await uow.assignments.get(assignment_id)
    if row is None:
        raise NotFound("not_found", f"role assignment {assignment_id} not found")
    await uow.assignments.delete(assignment_id)
    uow.emit(
        RoleRevoked(
            role_id=row["role_id"],
            user_id=row["principal_id"],
            org_id=row["org_id"],
            assignment_id=assignment_id,
            resource_type=row["resource_type"],
            resource_id=row["resource_id"],
        )
    )
    await touch(uow.assignments)
