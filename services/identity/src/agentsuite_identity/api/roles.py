"""Routes of roles and role assignments (included by api/authz.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentsuite_identity.api.common import Made, create, found, org_named, pages, unit
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.capabilities import expand
from agentsuite_identity.handlers import authz as handlers
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.etag import Precondition, etag, if_match
from agentsuite_kit.http.pagination import CursorParams, Page, paginate
from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.storable import unstorable

Capabilities = Annotated[list[Annotated[str, Field(max_length=100)]], Field(max_length=200)]


class Body(BaseModel):
    """Request bodies of this area: unknown fields refused, every string storable."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        # the app's edge refuses such text first; this keeps a body built elsewhere honest
        found = unstorable(data)
        if found is not None:
            raise ValueError(f"body.{found.path}: {found.reason}" if found.path else found.reason)
        return data


def may_grant(principal: Principal, patterns: list[str], field: str) -> None:
    """Nobody hands out more than they hold: a role or allow policy naming a capability
    the caller lacks is refused, so `roles:write` alone cannot escalate to `*`."""
    lacking = expand(patterns) - expand(principal.capabilities)
    if lacking:
        shown = ", ".join(sorted(lacking)[:5])
        raise ProblemError(
            403, f"cannot grant what you do not hold: {shown}", code="forbidden", field=field
        )


class RoleIn(Body):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=1000)
    capabilities: Capabilities


class RolePatch(Body):
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


class AssignmentIn(Body):
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


def _subject_id(principal: Principal) -> UUID | None:
    try:
        return UUID(principal.subject)
    except ValueError:
        return None


def router(deps: Deps) -> APIRouter:  # noqa: C901  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1")

    @routes.post("/roles", status_code=201, response_model=RoleOut)
    async def create_role(
        body: RoleIn,
        request: Request,
        principal: Annotated[Principal, Depends(require("roles:write"))],
    ) -> Response:
        may_grant(principal, body.capabilities, "capabilities")

        async def make(uow: IdentityUow) -> Made:
            role = await handlers.create_role(
                uow, name=body.name, description=body.description, capabilities=body.capabilities
            )
            return role, role["version"]

        return await create(deps, request, principal, make)

    @routes.get("/roles")
    async def list_roles(
        principal: Annotated[Principal, Depends(require("roles:read"))],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[RoleOut]:
        async with deps.runtime.uow(principal.tenant) as uow:
            rows = await uow.roles.page(page.after, page.limit)
        items = [RoleOut(**handlers.role_view(r)) for r in rows]
        return paginate(items, page.limit, lambda r: (r.name, r.role_id))

    @routes.get("/roles/{role_id}")
    async def get_role(
        role_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(require("roles:read"))],
    ) -> RoleOut:
        async with deps.runtime.uow(principal.tenant) as uow:
            row = found(await uow.roles.get(role_id), f"role {role_id} not found")
        response.headers["ETag"] = etag(row["version"])
        return RoleOut(**handlers.role_view(row))

    @routes.patch("/roles/{role_id}")
    async def patch_role(
        role_id: UUID,
        body: RolePatch,
        response: Response,
        principal: Annotated[Principal, Depends(require("roles:write"))],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> RoleOut:
        if body.capabilities is not None:
            may_grant(principal, body.capabilities, "capabilities")
        async with unit(deps, principal) as uow:
            role = await handlers.update_role(
                uow, role_id, precondition, body.model_dump(exclude_none=True)
            )
            await uow.commit()
        response.headers["ETag"] = etag(role["version"])
        return RoleOut(**role)

    @routes.delete("/roles/{role_id}", status_code=204)
    async def delete_role(
        role_id: UUID, principal: Annotated[Principal, Depends(require("roles:write"))]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.delete_role(uow, role_id)
            await uow.commit()
        return Response(status_code=204)

    @routes.post("/role-assignments", status_code=201, response_model=AssignmentOut)
    async def assign(
        body: AssignmentIn,
        request: Request,
        principal: Annotated[Principal, Depends(require("roles:write"))],
    ) -> Response:
        org_named(principal, body.org_id)

        async def make(uow: IdentityUow) -> Made:
            role = await uow.roles.get(body.role_id)
            if role is None:
                raise ProblemError(422, "no such role", code="invalid", field="role_id")
            may_grant(principal, list(role["capabilities"]), "role_id")
            assignment_id = await handlers.assign_role(
                uow,
                body.role_id,
                body.principal_id,
                org_id=body.org_id,
                resource_type=body.resource_type,
                resource_id=body.resource_id,
                expires_at=body.expires_at,
                created_by=_subject_id(principal),
            )
            row = await uow.assignments.get(assignment_id)
            assert row is not None
            return handlers.assignment_view(row), None

        return await create(deps, request, principal, make)

    @routes.get("/role-assignments")
    async def list_assignments(
        principal: Annotated[Principal, Depends(require("roles:read"))],
        page: Annotated[CursorParams, Depends(pages)],
        principal_id: Annotated[UUID | None, Query()] = None,
        role_id: Annotated[UUID | None, Query()] = None,
    ) -> Page[AssignmentOut]:
        async with deps.runtime.uow(principal.tenant) as uow:
            rows = await uow.assignments.page(
                page.after,
                page.limit,
                principal_id=principal_id,
                role_id=role_id,
                org_scope=principal.org_id,
            )
        items = [AssignmentOut(**handlers.assignment_view(r)) for r in rows]
        return paginate(items, page.limit, lambda a: (a.created_at, a.assignment_id))

    @routes.delete("/role-assignments/{assignment_id}", status_code=204)
    async def revoke(
        assignment_id: UUID, principal: Annotated[Principal, Depends(require("roles:write"))]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.revoke_assignment(uow, assignment_id)
            await uow.commit()
        return Response(status_code=204)

    return routes
