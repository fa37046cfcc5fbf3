"""Routes of roles and role assignments (included by api/authz.py)."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from agentsuite_identity.api.common import AppDeps, Bounded, Uow, org_named
from agentsuite_identity.domain.capabilities import expand
from agentsuite_identity.handlers import authz as handlers
from agentsuite_identity.handlers.authz import (
    AssignRole,
    ChangeRole,
    DeleteRole,
    NewRole,
    RevokeAssignment,
)
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Made, Pages, create, found, gate, subject_id, tagged
from agentsuite_kit.errors import Forbidden
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.http.storable import StrictBody

Capabilities = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=200)]


def may_grant(principal: Principal, patterns: list[str], field: str) -> None:
    """Nobody hands out more than they hold: a role or allow policy naming a capability
    the caller lacks is refused, so `roles:write` alone cannot escalate to `*`."""
    lacking = expand(patterns) - expand(principal.capabilities)
    if lacking:
        shown = ", ".join(sorted(lacking)[:5])
        raise Forbidden("forbidden", f"cannot grant what you do not hold: {shown}", field=field)


class RoleIn(StrictBody):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    capabilities: Capabilities


class RolePatch(StrictBody):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    capabilities: Capabilities | None = None


class RoleOut(BaseModel):
    role_id: UUID
    name: str
    description: str
    capabilities: list[str]
    builtin: bool
    created_at: datetime
    updated_at: datetime
    version: int


class AssignmentIn(StrictBody):
    role_id: UUID
    principal_id: UUID
    org_id: UUID | None = None
    resource_type: str | None = Field(default=None, min_length=1, max_length=100)
    resource_id: str | None = Field(default=None, min_length=1, max_length=200)
    expires_at: datetime | None = None


class AssignmentOut(BaseModel):
    assignment_id: UUID
    role_id: UUID
    principal_id: UUID
    scope: str
    org_id: UUID | None
    resource_type: str | None
    resource_id: str | None
    expires_at: datetime | None
    created_at: datetime
    created_by: UUID | None


Reader = Annotated[Principal, gate("roles:read")]
Writer = Annotated[Principal, gate("roles:write")]

routes = APIRouter(prefix="/v1", route_class=Bounded)


@routes.post("/roles", status_code=201, response_model=RoleOut)
async def create_role(
    body: RoleIn, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    may_grant(principal, body.capabilities, "capabilities")

    async def make() -> Made:
        cmd = NewRole(body.name, body.description, body.capabilities)
        role = await handlers.create_role(cmd, uow, deps)
        return role, role["version"]

    return await create(request, uow, principal, make)


@routes.get("/roles")
async def list_roles(principal: Reader, uow: Uow, page: Pages) -> Page[RoleOut]:
    rows = await uow.roles.page(shaped(page, str, UUID), page.limit)
    items = [RoleOut(**handlers.role_view(r)) for r in rows]
    return paginate(items, page.limit, lambda r: (r.name, r.role_id))


@routes.get("/roles/{role_id}")
async def get_role(role_id: UUID, response: Response, principal: Reader, uow: Uow) -> RoleOut:
    row = found(await uow.roles.get(role_id), f"role {role_id} not found")
    return tagged(response, RoleOut(**handlers.role_view(row)))


@routes.patch("/roles/{role_id}")
async def patch_role(
    role_id: UUID,
    body: RolePatch,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> RoleOut:
    if body.capabilities is not None:
        may_grant(principal, body.capabilities, "capabilities")
    cmd = ChangeRole(role_id, body.model_dump(exclude_none=True), precondition)
    role = await handlers.update_role(cmd, uow, deps)
    await uow.commit()
    return tagged(response, RoleOut(**role))


@routes.delete("/roles/{role_id}", status_code=204)
async def delete_role(role_id: UUID, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.delete_role(DeleteRole(role_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.post("/role-assignments", status_code=201, response_model=AssignmentOut)
async def assign(
    body: AssignmentIn, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    org_named(principal, body.org_id)

    async def make() -> Made:
        role = await uow.roles.get(body.role_id)
        if role is None:
            # no `errors` member, as this answer always was
            raise ProblemError(422, "no such role", code="invalid", field="role_id")
        may_grant(principal, list(role["capabilities"]), "role_id")
        cmd = AssignRole(
            body.role_id,
            body.principal_id,
            org_id=body.org_id,
            resource_type=body.resource_type,
            resource_id=body.resource_id,
            expires_at=body.expires_at,
            created_by=subject_id(principal),
        )
        assignment_id = await handlers.assign(cmd, uow, deps)
        row = await uow.assignments.get(assignment_id)
        assert row is not None
        return handlers.assignment_view(row), None

    return await create(request, uow, principal, make)


@routes.get("/role-assignments")
async def list_assignments(
    principal: Reader,
    uow: Uow,
    page: Pages,
    principal_id: Annotated[UUID | None, Query()] = None,
    role_id: Annotated[UUID | None, Query()] = None,
) -> Page[AssignmentOut]:
    rows = await uow.assignments.page(
        shaped(page, datetime, UUID),
        page.limit,
        principal_id=principal_id,
        role_id=role_id,
        org_scope=principal.org_id,
    )
    items = [AssignmentOut(**handlers.assignment_view(r)) for r in rows]
    return paginate(items, page.limit, lambda a: (a.created_at, a.assignment_id))


@routes.delete("/role-assignments/{assignment_id}", status_code=204)
async def revoke(assignment_id: UUID, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.revoke_assignment(RevokeAssignment(assignment_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)
