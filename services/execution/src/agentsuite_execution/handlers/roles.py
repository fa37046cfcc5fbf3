"""What execution keeps of identity's roles: their names and who holds them, so an
approval addressed to `role:<name>` knows its deciders (access tokens carry no roles).

A handler takes the envelope: its `occurred_at` orders the changes of one role or grant
(see `repositories.roles`), so a redelivered or late event never takes state back. An
event without a tenant has nothing to project and is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.identity import (
    RoleAssigned,
    RoleCreated,
    RoleDeleted,
    RoleRevoked,
    RoleUpdated,
)
from agentsuite_contracts.topic_names import IDENTITY_ROLES_V1
from agentsuite_execution.deps import Deps
from agentsuite_execution.repositories.roles import Grant, Resource, Roles
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec

log = logging.getLogger(__name__)


Handler = Callable[[Envelope[Any], ExecutionUow], Awaitable[None]]


def _tenant_less(event: Envelope[Any]) -> bool:
    if event.tenant_id is None:
        log.warning("%s %s without a tenant: skipped", event.payload.type, event.id)
        return True
    return False


def _roles(uow: ExecutionUow) -> Roles:
    # the unit of work's own `roles` once it binds one; the same repository either way
    return Roles(uow.session)


def _grant(payload: RoleAssigned | RoleRevoked) -> Grant:
    # identity sends both or neither; half a resource is no resource it grants on
    resource: Resource | None = None
    if payload.resource_type is not None and payload.resource_id is not None:
        resource = (payload.resource_type, payload.resource_id)
    return Grant(payload.role_id, payload.user_id, payload.org_id, resource, payload.assignment_id)


async def role_named(event: Envelope[RoleCreated | RoleUpdated], uow: ExecutionUow) -> None:
    if _tenant_less(event):
        return
    role = event.payload
    await _roles(uow).name(role.role_id, role.name, event.occurred_at)


async def role_deleted(event: Envelope[RoleDeleted], uow: ExecutionUow) -> None:
    if _tenant_less(event):
        return
    role = event.payload
    await _roles(uow).delete(role.role_id, role.name, event.occurred_at)


async def role_assigned(event: Envelope[RoleAssigned], uow: ExecutionUow) -> None:
    if _tenant_less(event):
        return
    grant = event.payload
    await _roles(uow).assign(_grant(grant), expires_at=grant.expires_at, at=event.occurred_at)


async def role_revoked(event: Envelope[RoleRevoked], uow: ExecutionUow) -> None:
    if _tenant_less(event):
        return
    await _roles(uow).revoke(_grant(event.payload), at=event.occurred_at)


ROLES: Mapping[type[Payload], Handler] = {
    RoleCreated: role_named,
    RoleUpdated: role_named,
    RoleDeleted: role_deleted,
    RoleAssigned: role_assigned,
    RoleRevoked: role_revoked,
}


def role_consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    """The subscription to identity's roles; `deps` for the shape of `consumers`."""
    del deps  # the projection needs nothing beyond the unit of work
    # batched as the other projections: a tenant's consecutive events share a transaction
    return [
        ConsumerSpec[ExecutionUow](
            name="roles", topic=IDENTITY_ROLES_V1, handlers=ROLES, batch=True
        )
    ]
