"""Routes of the tenants area (platform principals)."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import APIRouter, Request, Response

from agentsuite_contracts.ids import uuid7
from agentsuite_identity.api.common import AppDeps, Bounded, create_in, platform_only, unit
from agentsuite_identity.handlers import tenants as handlers
from agentsuite_identity.handlers.tenants import (
    Bootstrapped,
    ChangeTenant,
    CreateTenant,
    DeleteTenant,
    ReactivateTenant,
    Suspend,
    SuspendTenant,
    TenantView,
    UpdateTenant,
)
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Made, Pages, gate, tagged
from agentsuite_kit.errors import Forbidden, NotFound
from agentsuite_kit.http.idempotency import HEADER
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError

Reader = Annotated[Principal, gate("tenants:read", platform=True)]
Writer = Annotated[Principal, gate("tenants:write", platform=True)]
Anyone = Annotated[Principal, gate(platform=True)]

routes = APIRouter(prefix="/v1", tags=["tenants"], route_class=Bounded)


@routes.post("/tenants", status_code=201, response_model=Bootstrapped)
async def create_tenant(
    cmd: CreateTenant, request: Request, principal: Writer, deps: AppDeps
) -> Response:
    """Bootstrap a tenant: its system roles, first admin, default org, in one go."""
    _platform(principal)
    key = request.headers.get(HEADER)
    # a retry with the same key must open the same tenant's unit of work to find the
    # stored response, so the key fixes the new tenant's id
    tenant_id = uuid5(NAMESPACE_URL, f"tenant:{principal.subject}:{key}") if key else uuid7()

    async def make(uow: IdentityUow) -> Made:
        done = await handlers.create_tenant(cmd, uow, deps)
        return done, done.tenant.version

    return await create_in(deps, request, principal, tenant_id, make)


@routes.get("/tenants", response_model=Page[TenantView])
async def list_tenants(principal: Reader, page: Pages, deps: AppDeps) -> Page[TenantView]:
    _platform(principal)
    async with deps.runtime.uow(None, all_tenants=True) as uow:
        rows = await uow.tenants.page(shaped(page, datetime, UUID), page.limit)
    views = [TenantView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.tenant_id))


@routes.get("/tenants/{tenant_id}", response_model=TenantView)
async def get_tenant(
    tenant_id: UUID, response: Response, principal: Anyone, deps: AppDeps
) -> TenantView:
    """Platform principals with `tenants:read`; a tenant's own with `tenant:read`."""
    _may(principal, tenant_id, platform="tenants:read", own="tenant:read")
    async with unit(deps, principal, tenant_id) as uow:
        view = TenantView.of(await handlers.get_tenant(uow, tenant_id))
    return tagged(response, view)


@routes.patch("/tenants/{tenant_id}", response_model=TenantView)
async def update_tenant(
    tenant_id: UUID,
    body: UpdateTenant,
    response: Response,
    principal: Anyone,
    precondition: IfMatch,
    deps: AppDeps,
) -> TenantView:
    """Platform principals (`tenants:write`); a tenant's own (`tenant:write`) may rename
    it, not change its tier."""
    _may(principal, tenant_id, platform="tenants:write", own="tenant:write")
    if principal.tenant_id is not None and body.tier is not None:
        raise Forbidden("forbidden", "Only platform principals change the tier.")
    cmd = ChangeTenant(tenant_id, body, precondition.check)
    async with unit(deps, principal, tenant_id) as uow:
        view = await handlers.update_tenant(cmd, uow, deps)
    return tagged(response, view)


@routes.post("/tenants/{tenant_id}/suspend", response_model=TenantView)
async def suspend_tenant(
    tenant_id: UUID, body: Suspend, principal: Writer, deps: AppDeps
) -> TenantView:
    _platform(principal)
    async with unit(deps, principal, tenant_id) as uow:
        return await handlers.suspend_tenant(SuspendTenant(tenant_id, body.reason), uow, deps)


@routes.post("/tenants/{tenant_id}/reactivate", response_model=TenantView)
async def reactivate_tenant(tenant_id: UUID, principal: Writer, deps: AppDeps) -> TenantView:
    _platform(principal)
    async with unit(deps, principal, tenant_id) as uow:
        return await handlers.reactivate_tenant(ReactivateTenant(tenant_id), uow, deps)


@routes.delete("/tenants/{tenant_id}", response_model=TenantView)
async def delete_tenant(tenant_id: UUID, principal: Writer, deps: AppDeps) -> TenantView:
    """Soft delete: stops the tenant now, purges its rows after the grace period."""
    _platform(principal)
    async with unit(deps, principal, tenant_id) as uow:
        return await handlers.delete_tenant(DeleteTenant(tenant_id), uow, deps)


def _platform(principal: Principal) -> None:
    # tenant routes' capabilities are patterns: a tenant owner's `*` must not reach them
    platform_only(principal, "Only platform principals manage tenants.", "platform_required")


def _may(principal: Principal, tenant_id: UUID, *, platform: str, own: str) -> None:
    """Another tenant's id answers 404, as if it did not exist."""
    if principal.tenant_id is None:
        wanted = platform
    elif principal.tenant_id == tenant_id:
        wanted = own
    else:
        raise NotFound("not_found", f"tenant {tenant_id} not found")
    if not principal.has(wanted):
        raise ProblemError(
            403, f"Missing capability: {wanted}.", code="insufficient_capability", missing=[wanted]
        )
