"""Routes of providers, their models and price lists (`models:read` / `models:write`).

A provider's credential is write-only: no answer (nor event) ever carries it.
"""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Pages, created, errors, gate, tagged
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_llm_gateway.api.common import AppDeps, Bounded, Uow
from agentsuite_llm_gateway.handlers import models as model_handlers
from agentsuite_llm_gateway.handlers import providers as handlers
from agentsuite_llm_gateway.handlers.models import (
    AddModel,
    AddModelPrice,
    AddPrice,
    ChangeModel,
    CreateModel,
    DeleteModel,
    GetModel,
    ModelView,
    PriceView,
    UpdateModel,
)
from agentsuite_llm_gateway.handlers.providers import (
    ChangeProvider,
    CreateProvider,
    DeleteProvider,
    GetProvider,
    ProviderView,
    UpdateProvider,
)
from agentsuite_llm_gateway.uow import GatewayUow

# errors the kit's OpenAPI rewrite cannot infer, as the problem+json it documents
_CREATE = errors(
    (400, "A malformed Idempotency-Key."), (409, "The name (or the price's start) is taken.")
)
_UPDATE = errors(
    (400, "A malformed If-Match."),
    (409, "The new name is taken."),
    (412, "If-Match names another version."),
    (428, "If-Match is required."),
)
_LIST = errors((400, "The cursor is invalid."))

Reader = Annotated[Principal, gate("models:read")]
Writer = Annotated[Principal, gate("models:write")]

routes = APIRouter(prefix="/v1", tags=["providers"], route_class=Bounded)


async def _created(
    request: Request, principal: Principal, uow: GatewayUow, make: Any, location: Any
) -> Response:
    """Run `make` once per Idempotency-Key; a retry gets the stored 201."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    view = await make()
    version = getattr(view, "version", None)
    return await created(idem, uow, view, version=version, headers={"Location": location(view)})


# --- providers ------------------------------------------------------------------------------


@routes.post("/providers", status_code=201, response_model=ProviderView, responses=_CREATE)
async def create_provider(
    cmd: CreateProvider, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    """Register an upstream; `credential` is encrypted and never shown again."""
    return await _created(
        request,
        principal,
        uow,
        lambda: handlers.create_provider(cmd, uow, deps),
        lambda v: f"/v1/providers/{v.provider_id}",
    )


@routes.get("/providers", response_model=Page[ProviderView], responses=_LIST)
async def list_providers(principal: Reader, page: Pages, uow: Uow) -> Page[ProviderView]:
    rows = await uow.providers.page(shaped(page, datetime, UUID), page.limit)
    views = [ProviderView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.provider_id))


@routes.get("/providers/{provider_id}", response_model=ProviderView)
async def get_provider(
    provider_id: UUID, response: Response, principal: Reader, uow: Uow, deps: AppDeps
) -> ProviderView:
    return tagged(response, await handlers.get_provider(GetProvider(provider_id), uow, deps))


@routes.patch("/providers/{provider_id}", response_model=ProviderView, responses=_UPDATE)
async def update_provider(
    provider_id: UUID,
    cmd: UpdateProvider,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> ProviderView:
    """If-Match required; `credential` rotates the secret (null removes it)."""
    change = ChangeProvider(provider_id, cmd, precondition)
    view = await handlers.update_provider(change, uow, deps)
    await uow.commit()
    return tagged(response, view)


@routes.delete("/providers/{provider_id}", status_code=204)
async def delete_provider(
    provider_id: UUID, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    """With its models and their price lists."""
    await handlers.delete_provider(DeleteProvider(provider_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)


# --- models -------------------------------------------------------------------------------

BASE = "/providers/{provider_id}/models"


@routes.post(BASE, status_code=201, response_model=ModelView, responses=_CREATE)
async def create_model(
    provider_id: UUID,
    cmd: CreateModel,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
) -> Response:
    """A model of the provider, with its first price if `price` is given."""
    return await _created(
        request,
        principal,
        uow,
        lambda: model_handlers.create_model(AddModel(provider_id, cmd), uow, deps),
        lambda v: f"/v1/providers/{provider_id}/models/{v.model_id}",
    )


@routes.get(BASE, response_model=Page[ModelView], responses=_LIST)
async def list_models(
    provider_id: UUID, principal: Reader, page: Pages, uow: Uow
) -> Page[ModelView]:
    await handlers.provider_row(uow, provider_id)
    rows = await uow.models.page(provider_id, shaped(page, datetime, UUID), page.limit)
    views = [await model_handlers.model_view(uow, r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.model_id))


@routes.get(BASE + "/{model_id}", response_model=ModelView)
async def get_model(
    provider_id: UUID,
    model_id: UUID,
    response: Response,
    principal: Reader,
    uow: Uow,
    deps: AppDeps,
) -> ModelView:
    view = await model_handlers.get_model(GetModel(provider_id, model_id), uow, deps)
    return tagged(response, view)


@routes.patch(BASE + "/{model_id}", response_model=ModelView, responses=_UPDATE)
async def update_model(
    provider_id: UUID,
    model_id: UUID,
    cmd: UpdateModel,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> ModelView:
    """If-Match required; prices change by adding a version (POST .../prices)."""
    change = ChangeModel(provider_id, model_id, cmd, precondition)
    view = await model_handlers.update_model(change, uow, deps)
    await uow.commit()
    return tagged(response, view)


@routes.delete(BASE + "/{model_id}", status_code=204)
async def delete_model(
    provider_id: UUID, model_id: UUID, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    await model_handlers.delete_model(DeleteModel(provider_id, model_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)


# --- prices -------------------------------------------------------------------------------


@routes.post(
    BASE + "/{model_id}/prices", status_code=201, response_model=PriceView, responses=_CREATE
)
async def add_price(
    provider_id: UUID,
    model_id: UUID,
    cmd: AddPrice,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
) -> Response:
    """Append a version to the price list, in force from `effective_from` (default now,
    may be in the future); earlier versions stay, for calls made under them."""
    return await _created(
        request,
        principal,
        uow,
        lambda: model_handlers.add_price(AddModelPrice(provider_id, model_id, cmd), uow, deps),
        lambda v: f"/v1/providers/{provider_id}/models/{model_id}/prices",
    )


@routes.get(BASE + "/{model_id}/prices", response_model=Page[PriceView], responses=_LIST)
async def list_prices(
    provider_id: UUID, model_id: UUID, principal: Reader, page: Pages, uow: Uow
) -> Page[PriceView]:
    """Every version, oldest first."""
    await model_handlers.model_row(uow, provider_id, model_id)
    rows = await uow.prices.page(model_id, shaped(page, datetime, UUID), page.limit)
    views = [PriceView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.effective_from, v.price_id))
