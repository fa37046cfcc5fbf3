"""Routes of providers, their models and price lists (`models:read` / `models:write`).

A provider's credential is write-only: no answer (nor event) ever carries it.
"""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets
# each route closes over, which string annotations would hide

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.etag import Precondition, etag, if_match
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate
from agentsuite_kit.http.problems import MEDIA_TYPE
from agentsuite_llm_gateway.api.common import tagged, unit
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers import models as model_handlers
from agentsuite_llm_gateway.handlers import providers as handlers
from agentsuite_llm_gateway.handlers.models import (
    AddPrice,
    CreateModel,
    ModelView,
    PriceView,
    UpdateModel,
)
from agentsuite_llm_gateway.handlers.providers import CreateProvider, ProviderView, UpdateProvider
from agentsuite_llm_gateway.uow import GatewayUow

pages = cursor_params(default_limit=50, max_limit=200)


# errors the kit's OpenAPI rewrite cannot infer, as the problem+json it documents
def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}


_CREATE: dict[int | str, dict[str, Any]] = {
    400: _problem("A malformed Idempotency-Key."),
    409: _problem("The name (or the price's start) is taken."),
}
_UPDATE: dict[int | str, dict[str, Any]] = {
    400: _problem("A malformed If-Match."),
    409: _problem("The new name is taken."),
    412: _problem("If-Match names another version."),
    428: _problem("If-Match is required."),
}
_LIST: dict[int | str, dict[str, Any]] = {400: _problem("The cursor is invalid.")}


def router(deps: Deps) -> APIRouter:  # noqa: C901, PLR0915  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1", tags=["providers"])
    reading = require("models:read")
    writing = require("models:write")
    allowed = deps.settings.allowed_hosts

    async def create(
        request: Request,
        principal: Principal,
        location: Callable[[Any], str],
        make: Callable[[GatewayUow], Awaitable[BaseModel]],
    ) -> Response:
        """Run `make` once per Idempotency-Key; a retry gets the stored 201."""
        async with unit(deps, principal) as uow:
            idem = await idempotency(request, uow.session, subject=principal.subject)
            if idem.replay is not None:
                return idem.replay
            view = await make(uow)
            headers = {"Location": location(view)}
            if hasattr(view, "version"):
                headers["ETag"] = etag(view.version)
            response = JSONResponse(view.model_dump(mode="json"), 201, headers=headers)
            await idem.save(response)
            await uow.commit()
        return response

    # --- providers --------------------------------------------------------------------------

    @routes.post("/providers", status_code=201, response_model=ProviderView, responses=_CREATE)
    async def create_provider(
        cmd: CreateProvider, request: Request, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        """Register an upstream; `credential` is encrypted and never shown again."""

        async def make(uow: GatewayUow) -> BaseModel:
            return await handlers.create_provider(cmd, uow, cipher=deps.cipher, allowed=allowed)

        return await create(request, principal, lambda v: f"/v1/providers/{v.provider_id}", make)

    @routes.get("/providers", response_model=Page[ProviderView], responses=_LIST)
    async def list_providers(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[ProviderView]:
        async with deps.uow(principal.tenant) as uow:
            rows = await uow.providers.page(page.after, page.limit)
        views = [ProviderView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.provider_id))

    @routes.get("/providers/{provider_id}", response_model=ProviderView)
    async def get_provider(
        provider_id: UUID, response: Response, principal: Annotated[Principal, Depends(reading)]
    ) -> ProviderView:
        async with unit(deps, principal) as uow:
            view = ProviderView.of(await handlers.get_provider(uow, provider_id))
        return tagged(response, view)

    @routes.patch("/providers/{provider_id}", response_model=ProviderView, responses=_UPDATE)
    async def update_provider(
        provider_id: UUID,
        cmd: UpdateProvider,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> ProviderView:
        """If-Match required; `credential` rotates the secret (null removes it)."""
        async with unit(deps, principal) as uow:
            view = await handlers.update_provider(
                cmd,
                uow,
                provider_id=provider_id,
                check=precondition.check,
                cipher=deps.cipher,
                allowed=allowed,
            )
            await uow.commit()
        return tagged(response, view)

    @routes.delete("/providers/{provider_id}", status_code=204)
    async def delete_provider(
        provider_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        """With its models and their price lists."""
        async with unit(deps, principal) as uow:
            await handlers.delete_provider(uow, provider_id=provider_id)
            await uow.commit()
        return Response(status_code=204)

    # --- models -----------------------------------------------------------------------------

    base = "/providers/{provider_id}/models"

    @routes.post(base, status_code=201, response_model=ModelView, responses=_CREATE)
    async def create_model(
        provider_id: UUID,
        cmd: CreateModel,
        request: Request,
        principal: Annotated[Principal, Depends(writing)],
    ) -> Response:
        """A model of the provider, with its first price if `price` is given."""

        async def make(uow: GatewayUow) -> BaseModel:
            return await model_handlers.create_model(cmd, uow, provider_id=provider_id)

        def location(view: ModelView) -> str:
            return f"/v1/providers/{provider_id}/models/{view.model_id}"

        return await create(request, principal, location, make)

    @routes.get(base, response_model=Page[ModelView], responses=_LIST)
    async def list_models(
        provider_id: UUID,
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[ModelView]:
        async with unit(deps, principal) as uow:
            await handlers.get_provider(uow, provider_id)
            rows = await uow.models.page(provider_id, page.after, page.limit)
            views = [await model_handlers.model_view(uow, r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.model_id))

    @routes.get(base + "/{model_id}", response_model=ModelView)
    async def get_model(
        provider_id: UUID,
        model_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(reading)],
    ) -> ModelView:
        async with unit(deps, principal) as uow:
            row = await model_handlers.get_model(uow, provider_id, model_id)
            view = await model_handlers.model_view(uow, row)
        return tagged(response, view)

    @routes.patch(base + "/{model_id}", response_model=ModelView, responses=_UPDATE)
    async def update_model(
        provider_id: UUID,
        model_id: UUID,
        cmd: UpdateModel,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> ModelView:
        """If-Match required; prices change by adding a version (POST .../prices)."""
        async with unit(deps, principal) as uow:
            view = await model_handlers.update_model(
                cmd, uow, provider_id=provider_id, model_id=model_id, check=precondition.check
            )
            await uow.commit()
        return tagged(response, view)

    @routes.delete(base + "/{model_id}", status_code=204)
    async def delete_model(
        provider_id: UUID, model_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await model_handlers.delete_model(uow, provider_id=provider_id, model_id=model_id)
            await uow.commit()
        return Response(status_code=204)

    # --- prices -----------------------------------------------------------------------------

    @routes.post(
        base + "/{model_id}/prices", status_code=201, response_model=PriceView, responses=_CREATE
    )
    async def add_price(
        provider_id: UUID,
        model_id: UUID,
        cmd: AddPrice,
        request: Request,
        principal: Annotated[Principal, Depends(writing)],
    ) -> Response:
        """Append a version to the price list, in force from `effective_from` (default now,
        may be in the future); earlier versions stay, for calls made under them."""

        async def make(uow: GatewayUow) -> BaseModel:
            return await model_handlers.add_price(
                cmd, uow, provider_id=provider_id, model_id=model_id
            )

        def location(view: PriceView) -> str:
            return f"/v1/providers/{provider_id}/models/{model_id}/prices"

        return await create(request, principal, location, make)

    @routes.get(base + "/{model_id}/prices", response_model=Page[PriceView], responses=_LIST)
    async def list_prices(
        provider_id: UUID,
        model_id: UUID,
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[PriceView]:
        """Every version, oldest first."""
        async with unit(deps, principal) as uow:
            await model_handlers.get_model(uow, provider_id, model_id)
            rows = await uow.prices.page(model_id, page.after, page.limit)
        views = [PriceView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.effective_from, v.price_id))

    return routes
