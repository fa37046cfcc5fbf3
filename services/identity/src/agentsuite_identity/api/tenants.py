"""Routes of the tenants area (platform principals)."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import APIRouter, Depends, Request, Response

from agentsuite_contracts.ids import uuid7
from agentsuite_identity.api.common import (
    Made,
    create,
    pages,
    platform_only,
    tagged,
    unit,
)
from agentsuite_identity.deps import Deps
from agentsuite_identity.handlers import tenants as handlers
from agentsuite_identity.handlers.tenants import (
    Bootstrapped,
    CreateTenant,
    Suspend,
    TenantView,
    UpdateTenant,
)
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.etag import Precondition, if_match
from agentsuite_kit.http.idempotency import HEADER
from agentsuite_kit.http.pagination import CursorParams, Page, paginate
from agentsuite_kit.http.problems import ProblemError


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["tenants"])
    reading = require("tenants:read", platform=True)
    writing = require("tenants:write", platform=True)
    anyone = require(platform=True)

    @routes.post("/tenants", status_code=201, response_model=Bootstrapped)
    async def create_tenant(
        cmd: CreateTenant,
        request: Request,
        principal: Annotated[Principal, Depends(writing)],
    ) -> Response:
        """Bootstrap a tenant: its system roles, first admin, default org, in one go."""
        _platform(principal)
        key = request.headers.get(HEADER)
        # a retry with the same key must open the same tenant's unit of work to find the
        # stored response, so the key fixes the new tenant's id
        tenant_id = uuid5(NAMESPACE_URL, f"tenant:{principal.subject}:{key}") if key else uuid7()

        async def make(uow: IdentityUow) -> Made:
            done = await handlers.create_tenant(
                cmd, uow, passwords=deps.passwords, settings=deps.settings
            )
            return done, done.tenant.version

        return await create(deps, request, principal, make, tenant_id)

    @routes.get("/tenants", response_model=Page[TenantView])
    async def list_tenants(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[TenantView]:
        _platform(principal)
        async with deps.runtime.uow(None, all_tenants=True) as uow:
            rows = await uow.tenants.page(page.after, page.limit)
        views = [TenantView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.tenant_id))

    @routes.get("/tenants/{tenant_id}", response_model=TenantView)
    async def get_tenant(
        tenant_id: UUID, response: Response, principal: Annotated[Principal, Depends(anyone)]
    ) -> TenantView:
        """Platform principals with `tenants:read`; a tenant's own with `tenant:read`."""
        _may(principal, tenant_id, platform="tenants:read", own="tenant:read")
        async with unit(deps, principal, tenant_id) as uow:
            view = TenantView.of(await handlers.get_tenant(uow, tenant_id))
        return tagged(response, view)

    @routes.patch("/tenants/{tenant_id}", response_model=TenantView)
    async def update_tenant(
        tenant_id: UUID,
        cmd: UpdateTenant,
        response: Response,
        principal: Annotated[Principal, Depends(anyone)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> TenantView:
        """Platform principals (`tenants:write`); a tenant's own (`tenant:write`) may rename
        it, not change its tier."""
        _may(principal, tenant_id, platform="tenants:write", own="tenant:write")
        if principal.tenant_id is not None and cmd.tier is not None:
            raise ProblemError(403, "Only platform principals change the tier.", code="forbidden")
        async with unit(deps, principal, tenant_id) as uow:
            view = await handlers.update_tenant(
                cmd, uow, tenant_id=tenant_id, check=precondition.check
            )
        return tagged(response, view)

    @routes.post("/tenants/{tenant_id}/suspend", response_model=TenantView)
    async def suspend_tenant(
        tenant_id: UUID, cmd: Suspend, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        _platform(principal)
        async with unit(deps, principal, tenant_id) as uow:
            return await handlers.suspend_tenant(cmd, uow, tenant_id=tenant_id)

    @routes.post("/tenants/{tenant_id}/reactivate", response_model=TenantView)
    async def reactivate_tenant(
        tenant_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        _platform(principal)
        async with unit(deps, principal, tenant_id) as uow:
            return await handlers.reactivate_tenant(uow, tenant_id=tenant_id)

    @routes.delete("/tenants/{tenant_id}", response_model=TenantView)
    async def delete_tenant(
        tenant_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        """Soft delete: stops the tenant now, purges its rows after the grace period."""
        _platform(principal)
        async with unit(deps, principal, tenant_id) as uow:
            return await handlers.delete_tenant(uow, tenant_id=tenant_id, settings=deps.settings)

    return routes


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
        raise ProblemError(404, f"tenant {tenant_id} not found", code="not_found")
    if not principal.has(wanted):
        raise ProblemError(
            403, f"Missing capability: {wanted}.", code="insufficient_capability", missing=[wanted]
        )
