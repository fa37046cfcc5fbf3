"""Service accounts over HTTP: a tenant's own (`/v1/service-accounts`, tenant admins) and
the platform's (`/v1/platform/service-accounts`, the platform operator: `platform` and
`service` kinds, no tenant). The secret is in the create and rotate answers only."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from agentsuite_identity.api.common import created, pages, platform_only, problems, unit
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import NotFound
from agentsuite_identity.handlers import service_accounts as accounts
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, paginate

# No `from __future__ import annotations`: FastAPI must resolve the `Depends` in the
# route signatures, which close over local names.

Capability = Annotated[str, Field(min_length=1, max_length=100)]


class NewTenantAccount(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    capabilities: list[Capability] = Field(max_length=200)


class NewPlatformAccount(NewTenantAccount):
    kind: Literal["platform", "service"] = "service"


class ServiceAccountView(BaseModel):
    service_account_id: UUID
    name: str
    kind: str
    client_id: str
    capabilities: list[str]
    status: str
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    version: int


class WithSecret(ServiceAccountView):
    client_secret: str = Field(description="Shown once: store it now.")


def _view(row: Any) -> ServiceAccountView:
    return ServiceAccountView.model_validate(dict(row._mapping))


def router(deps: Deps) -> APIRouter:  # noqa: C901  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1", tags=["service accounts"])
    t_read = require("service_accounts:read")
    t_write = require("service_accounts:write")
    p_write = require("platform_accounts:write", platform=True)

    async def _get(tenant: UUID | None, account_id: UUID) -> ServiceAccountView:
        async with deps.runtime.uow(tenant) as uow:
            row = await uow.service_accounts.get(account_id)
        if row is None:
            raise NotFound("no such service account", field="service_account_id")
        return _view(row)

    async def _create(
        request: Request,
        principal: Principal,
        tenant: UUID | None,
        body: NewTenantAccount,
        kind: accounts.Kind,
    ) -> Response:
        async with unit(deps, principal, tenant) as uow:
            idem = await idempotency(request, uow.session, subject=principal.subject)
            if idem.replay is not None:
                return idem.replay
            account_id, _, secret = await accounts.create_service_account(
                uow,
                name=body.name,
                kind=kind,
                capabilities=list(body.capabilities),
                tenant_id=tenant,
                creator_capabilities=principal.capabilities if tenant else None,
                commit=False,
            )
            view = _view(await uow.service_accounts.get(account_id))
            # the stored copy (what a retry with the same key replays) lacks the secret:
            # it must not rest in clear in the idempotency table; a caller who lost it
            # rotates the secret
            await created(idem, uow, view)
        answer = WithSecret(**view.model_dump(), client_secret=secret)
        return JSONResponse(answer.model_dump(mode="json"), status_code=201)

    async def _rotate(principal: Principal, tenant: UUID | None, account_id: UUID) -> WithSecret:
        with problems(principal):
            async with deps.runtime.uow(tenant) as uow:
                secret = await accounts.rotate_secret(
                    uow, account_id, caller_capabilities=principal.capabilities
                )
            return WithSecret(**(await _get(tenant, account_id)).model_dump(), client_secret=secret)

    async def _disable(
        principal: Principal, tenant: UUID | None, account_id: UUID
    ) -> ServiceAccountView:
        with problems(principal):
            async with deps.runtime.uow(tenant) as uow:
                await accounts.disable(uow, account_id)
            return await _get(tenant, account_id)

    async def _list(tenant: UUID | None, page: CursorParams, kinds: tuple[str, ...]) -> Any:
        async with deps.runtime.uow(tenant) as uow:
            rows = await uow.service_accounts.page(after=page.after, limit=page.limit, kinds=kinds)
        return paginate(
            [_view(r) for r in rows],
            page.limit,
            key=lambda v: (v.created_at, v.service_account_id),
        )

    # --- a tenant's own accounts ---------------------------------------------------------

    @routes.post(
        "/service-accounts",
        status_code=201,
        response_model=WithSecret,
        summary="Create a tenant service account (the secret is shown once)",
    )
    async def create_tenant(
        request: Request,
        body: NewTenantAccount,
        principal: Annotated[Principal, Depends(t_write)],
    ) -> Response:
        return await _create(request, principal, principal.tenant, body, "tenant")

    @routes.get("/service-accounts", summary="The tenant's service accounts, newest first")
    async def list_tenant(
        principal: Annotated[Principal, Depends(t_read)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[ServiceAccountView]:
        result: Page[ServiceAccountView] = await _list(principal.tenant, page, ("tenant",))
        return result

    @routes.get("/service-accounts/{service_account_id}", summary="One tenant service account")
    async def get_tenant(
        service_account_id: UUID, principal: Annotated[Principal, Depends(t_read)]
    ) -> ServiceAccountView:
        with problems():
            return await _get(principal.tenant, service_account_id)

    @routes.post(
        "/service-accounts/{service_account_id}/rotate-secret",
        summary="Replace the secret (shown once); the old one stops working at once",
    )
    async def rotate_tenant(
        service_account_id: UUID, principal: Annotated[Principal, Depends(t_write)]
    ) -> WithSecret:
        return await _rotate(principal, principal.tenant, service_account_id)

    @routes.post(
        "/service-accounts/{service_account_id}/disable",
        summary="Disable: no new tokens, and its tokens stop working at identity",
    )
    async def disable_tenant(
        service_account_id: UUID, principal: Annotated[Principal, Depends(t_write)]
    ) -> ServiceAccountView:
        return await _disable(principal, principal.tenant, service_account_id)

    # --- the platform's accounts (no tenant) ---------------------------------------------

    @routes.post(
        "/platform/service-accounts",
        status_code=201,
        response_model=WithSecret,
        summary="Create a platform or service account (platform operator)",
    )
    async def create_platform(
        request: Request,
        body: NewPlatformAccount,
        principal: Annotated[Principal, Depends(p_write)],
    ) -> Response:
        platform_only(principal)
        return await _create(request, principal, None, body, body.kind)

    @routes.get("/platform/service-accounts", summary="Platform and service accounts")
    async def list_platform(
        principal: Annotated[Principal, Depends(p_write)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[ServiceAccountView]:
        platform_only(principal)
        result: Page[ServiceAccountView] = await _list(None, page, ("platform", "service"))
        return result

    @routes.get("/platform/service-accounts/{service_account_id}", summary="One platform account")
    async def get_platform(
        service_account_id: UUID, principal: Annotated[Principal, Depends(p_write)]
    ) -> ServiceAccountView:
        platform_only(principal)
        with problems():
            return await _get(None, service_account_id)

    @routes.post(
        "/platform/service-accounts/{service_account_id}/rotate-secret",
        summary="Replace a platform account's secret (shown once)",
    )
    async def rotate_platform(
        service_account_id: UUID, principal: Annotated[Principal, Depends(p_write)]
    ) -> WithSecret:
        platform_only(principal)
        return await _rotate(principal, None, service_account_id)

    @routes.post(
        "/platform/service-accounts/{service_account_id}/disable",
        summary="Disable a platform account: it gets no new tokens",
    )
    async def disable_platform(
        service_account_id: UUID, principal: Annotated[Principal, Depends(p_write)]
    ) -> ServiceAccountView:
        platform_only(principal)
        return await _disable(principal, None, service_account_id)

    return routes
