"""Roles and role assignments: the commands every other area may call."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from agentsuite_contracts.identity import RoleAssigned, RoleCreated
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.domain.capabilities import SYSTEM_ROLES
from agentsuite_identity.domain.errors import Invalid, NotFound
from agentsuite_identity.repositories.authz import touch
from agentsuite_identity.uow import IdentityUow


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
        raise Invalid("resource_type and resource_id go together", field="resource_id")
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
        raise NotFound(f"role {role_id} not found", field="role_id")
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
