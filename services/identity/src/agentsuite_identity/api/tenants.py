"""Routes of the tenants area (platform principals), and the glue the directory's routes
share: domain errors as problems, the acting principal, created responses."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from starlette.responses import JSONResponse

from agentsuite_contracts.envelope import Actor
from agentsuite_contracts.ids import uuid7
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import DomainError
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
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.cause import acting
from agentsuite_kit.http.etag import Precondition, etag, if_match
from agentsuite_kit.http.idempotency import HEADER, Idempotency, idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate
from agentsuite_kit.http.problems import ProblemError

_ACTOR_KIND: dict[PrincipalKind, Any] = {
    PrincipalKind.USER: "user",
    PrincipalKind.API_KEY: "api_key",
    PrincipalKind.SERVICE: "service",
    PrincipalKind.PLATFORM: "system",
}


def actor(principal: Principal) -> Actor:
    return Actor(kind=_ACTOR_KIND[principal.kind], id=principal.subject)


@contextmanager
def problems(principal: Principal | None = None) -> Iterator[None]:
    """Run a command as `principal`; a `DomainError` becomes its problem+json (a 422 names
    the field the way request validation does)."""
    try:
        if principal is None:
            yield
        else:
            with acting(actor(principal)):
                yield
    except DomainError as exc:
        extra: dict[str, Any] = {}
        if exc.field is not None:
            extra["field"] = exc.field
            if exc.status == 422:
                extra["errors"] = [
                    {"loc": ["body", exc.field], "msg": exc.detail, "type": "value_error"}
                ]
        raise ProblemError(exc.status, exc.detail, code=exc.code, **extra) from None


async def created(
    idem: Idempotency, uow: IdentityUow, body: BaseModel, *, version: int | None = None
) -> JSONResponse:
    """The 201 of a create, stored with its Idempotency-Key, committed with the effect."""
    headers = {} if version is None else {"ETag": etag(version)}
    response = JSONResponse(body.model_dump(mode="json"), status_code=201, headers=headers)
    await idem.save(response)
    await uow.commit()
    return response


def platform_only(principal: Principal) -> None:
    """Tenant routes' capabilities are patterns: a tenant owner's `*` must not reach the
    platform's routes, so these also require a principal of no tenant."""
    if principal.tenant_id is not None:
        raise ProblemError(
            403, "Only platform principals manage tenants.", code="platform_required"
        )


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["tenants"])
    reading = require("tenants:read", platform=True)
    writing = require("tenants:write", platform=True)
    anyone = require(platform=True)
    pages = cursor_params()

    @routes.post("/tenants", status_code=201, response_model=Bootstrapped)
    async def create_tenant(
        cmd: CreateTenant,
        request: Request,
        principal: Annotated[Principal, Depends(writing)],
    ) -> Response:
        """Bootstrap a tenant: its system roles, first admin, default org, in one go."""
        platform_only(principal)
        key = request.headers.get(HEADER)
        # a retry with the same key must open the same tenant's unit of work to find the
        # stored response, so the key fixes the new tenant's id
        tenant_id = uuid5(NAMESPACE_URL, f"tenant:{principal.subject}:{key}") if key else uuid7()
        with problems(principal):
            async with deps.runtime.uow(tenant_id) as uow:
                idem = await idempotency(request, uow.session, subject=principal.subject)
                if idem.replay is not None:
                    return idem.replay
                done = await handlers.create_tenant(
                    cmd, uow, passwords=deps.passwords, settings=deps.settings
                )
                return await created(idem, uow, done, version=done.tenant.version)

    @routes.get("/tenants", response_model=Page[TenantView])
    async def list_tenants(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[TenantView]:
        platform_only(principal)
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
        with problems():
            async with deps.runtime.uow(tenant_id) as uow:
                view = TenantView.of(await handlers.get_tenant(uow, tenant_id))
        response.headers["ETag"] = etag(view.version)
        return view

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
        with problems(principal):
            async with deps.runtime.uow(tenant_id) as uow:
                view = await handlers.update_tenant(
                    cmd, uow, tenant_id=tenant_id, check=precondition.check
                )
        response.headers["ETag"] = etag(view.version)
        return view

    @routes.post("/tenants/{tenant_id}/suspend", response_model=TenantView)
    async def suspend_tenant(
        tenant_id: UUID, cmd: Suspend, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        platform_only(principal)
        with problems(principal):
            async with deps.runtime.uow(tenant_id) as uow:
                return await handlers.suspend_tenant(cmd, uow, tenant_id=tenant_id)

    @routes.post("/tenants/{tenant_id}/reactivate", response_model=TenantView)
    async def reactivate_tenant(
        tenant_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        platform_only(principal)
        with problems(principal):
            async with deps.runtime.uow(tenant_id) as uow:
                return await handlers.reactivate_tenant(uow, tenant_id=tenant_id)

    @routes.delete("/tenants/{tenant_id}", response_model=TenantView)
    async def delete_tenant(
        tenant_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> TenantView:
        """Soft delete: stops the tenant now, purges its rows after the grace period."""
        platform_only(principal)
        with problems(principal):
            async with deps.runtime.uow(tenant_id) as uow:
                return await handlers.delete_tenant(
                    uow, tenant_id=tenant_id, settings=deps.settings
                )

    return routes


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
