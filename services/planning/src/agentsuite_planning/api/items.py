"""Items: create one, read one."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_kit.edge import NOT_FOUND, TOO_LARGE, created, errors, found
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_planning.api.edge import AppDeps, Bounded, Reader, Uow, Writer
from agentsuite_planning.domain.items import MAX_NAME, Item
from agentsuite_planning.handlers.items import CreateItem, create_item

routes = APIRouter(prefix="/v1", tags=["items"], route_class=Bounded)


class CreateItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, description="The item's name.")


class ItemView(BaseModel):
    id: UUID
    name: str

    @classmethod
    def of(cls, item: Item) -> "ItemView":
        return cls(id=item.id, name=item.name)


@routes.post(
    "/items",
    status_code=201,
    response_model=ItemView,
    responses=errors(
        (400, "A malformed Idempotency-Key."),
        (409, "The tenant is suspended or deleted, or the key's first request left no answer."),
        TOO_LARGE,
    ),
)
async def post_item(
    body: CreateItemBody,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key and body gets the first response.",
        ),
    ] = None,
) -> Response:
    """Create an item. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    item = await create_item(CreateItem(name=body.name), uow, deps)
    location = {"Location": f"/v1/items/{item.id}"}
    return await created(idem, uow, ItemView.of(item), headers=location)


@routes.get("/items/{item_id}", response_model=ItemView, responses=errors(NOT_FOUND))
async def get_item(item_id: UUID, principal: Reader, uow: Uow) -> ItemView:
    """One item of the caller's tenant (another tenant's is not found)."""
    item = await uow.items.get(item_id)
    return ItemView.of(found(item, f"no item {item_id}", "item_not_found"))
