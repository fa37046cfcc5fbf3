"""Service accounts over HTTP: a tenant's own (`/v1/service-accounts`, tenant admins) and
the platform's (`/v1/platform/service-accounts`, the platform operator: `platform` and
`service` kinds, no tenant). The secret is in the create and rotate answers only."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from agentsuite_identity.api.common import AppDeps, Bounded, platform_only, unit
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import NotFound
from agentsuite_identity.handlers import service_accounts as accounts
from agentsuite_identity.handlers.service_accounts import (
    DisableAccount,
    NewServiceAccount,
    RotateSecret,
)
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import Pages, created, gate
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, paginate, shaped

# No `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name.

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


TenantReader = Annotated[Principal, gate("service_accounts:read")]
TenantWriter = Annotated[Principal, gate("service_accounts:write")]
PlatformWriter = Annotated[Principal, gate("platform_accounts:write", platform=True)]

routes = APIRouter(prefix="/v1", tags=["service accounts"], route_class=Bounded)

# Each route names the tenant whose accounts it serves (None: the platform's), so the
# unit of work is opened here rather than by the `Uow` dependency.


async def _get(deps: Deps, tenant: UUID | None, account_id: UUID) -> ServiceAccountView:
    async with deps.runtime.uow(tenant) as uow:
        row = await uow.service_accounts.get(account_id)
    if row is None:
        raise NotFound("not_found", "no such service account", field="service_account_id")
    return _view(row)


async def _create(
    deps: Deps,
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
        cmd = NewServiceAccount(
            name=body.name,
            kind=kind,
            capabilities=list(body.capabilities),
            tenant_id=tenant,
            creator_capabilities=principal.capabilities if tenant else None,
            commit=False,
        )
        account_id, _, secret = await accounts.create_service_account(cmd, uow, deps)
        view = _view(await uow.service_accounts.get(account_id))
        # the stored copy (what a retry with the same key replays) lacks the secret: it
        # must not rest in clear in the idempotency table; a caller who lost it rotates
        # the secret
        await created(idem, uow, view)
    answer = WithSecret(**view.model_dump(), client_secret=secret)
    return JSONResponse(answer.model_dump(mode="json"), status_code=201)


async def _rotate(
    deps: Deps, principal: Principal, tenant: UUID | None, account_id: UUID
) -> WithSecret:
    cmd = RotateSecret(account_id, caller_capabilities=principal.capabilities)
    async with unit(deps, principal, tenant) as uow:
        secret = await accounts.rotate_secret(cmd, uow, deps)
    return WithSecret(**(await _get(deps, tenant, account_id)).model_dump(), client_secret=secret)


async def _disable(
    deps: Deps, principal: Principal, tenant: UUID | None, account_id: UUID
) -> ServiceAccountView:
    async with unit(deps, principal, tenant) as uow:
        await accounts.disable(DisableAccount(account_id), uow, deps)
    return await _get(deps, tenant, account_id)


async def _list(
    deps: Deps, tenant: UUID | None, page: CursorParams, kinds: tuple[str, ...]
) -> Page[ServiceAccountView]:
    async with deps.runtime.uow(tenant) as uow:
        rows = await uow.service_accounts.page(
            after=shaped(page, datetime, UUID), limit=page.limit, kinds=kinds
        )
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
    request: Request, body: NewTenantAccount, principal: TenantWriter, deps: AppDeps
) -> Response:
    return await _create(deps, request, principal, principal.tenant, body, "tenant")


@routes.get("/service-accounts", summary="The tenant's service accounts, newest first")
async def list_tenant(
    principal: TenantReader, page: Pages, deps: AppDeps
) -> Page[ServiceAccountView]:
    return await _list(deps, principal.tenant, page, ("tenant",))


@routes.get("/service-accounts/{service_account_id}", summary="One tenant service account")
async def get_tenant(
    service_account_id: UUID, principal: TenantReader, deps: AppDeps
) -> ServiceAccountView:
    return await _get(deps, principal.tenant, service_account_id)


@routes.post(
    "/service-accounts/{service_account_id}/rotate-secret",
    summary="Replace the secret (shown once); the old one stops working at once",
)
async def rotate_tenant(
    service_account_id: UUID, principal: TenantWriter, deps: AppDeps
) -> WithSecret:
    return await _rotate(deps, principal, principal.tenant, service_account_id)


@routes.post(
    "/service-accounts/{service_account_id}/disable",
    summary="Disable: no new tokens, and its tokens stop working at identity",
)
async def disable_tenant(
    service_account_id: UUID, principal: TenantWriter, deps: AppDeps
) -> ServiceAccountView:
    return await _disable(deps, principal, principal.tenant, service_account_id)


# --- the platform's accounts (no tenant) ---------------------------------------------


@routes.post(
    "/platform/service-accounts",
    status_code=201,
    response_model=WithSecret,
    summary="Create a platform or service account (platform operator)",
)
async def create_platform(
    request: Request, body: NewPlatformAccount, principal: PlatformWriter, deps: AppDeps
) -> Response:
    platform_only(principal)
    return await _create(deps, request, principal, None, body, body.kind)


@routes.get("/platform/service-accounts", summary="Platform and service accounts")
async def list_platform(
    principal: PlatformWriter, page: Pages, deps: AppDeps
) -> Page[ServiceAccountView]:
    platform_only(principal)
    return await _list(deps, None, page, ("platform", "service"))


@routes.get("/platform/service-accounts/{service_account_id}", summary="One platform account")
async def get_platform(
    service_account_id: UUID, principal: PlatformWriter, deps: AppDeps
) -> ServiceAccountView:
    platform_only(principal)
    return await _get(deps, None, service_account_id)


@routes.post(
    "/platform/service-accounts/{service_account_id}/rotate-secret",
    summary="Replace a platform account's secret (shown once)",
)
async def rotate_platform(
    service_account_id: UUID, principal: PlatformWriter, deps: AppDeps
) -> WithSecret:
    platform_only(principal)
    return await _rotate(deps, principal, None, service_account_id)


@routes.post(
    "/platform/service-accounts/{service_account_id}/disable",
    summary="Disable a platform account: it gets no new tokens",
)
async def disable_platform(
    service_account_id: UUID, principal: PlatformWriter, deps: AppDeps
) -> ServiceAccountView:
    platform_only(principal)
    return await _disable(deps, principal, None, service_account_id)
