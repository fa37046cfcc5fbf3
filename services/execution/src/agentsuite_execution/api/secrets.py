"""Tenant secrets: `PUT` a value (write-only), `GET` its metadata, `DELETE` it. No answer
ever carries a value; tools name secrets in their binding's `auth`."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from agentsuite_execution.api.edge import AppDeps, Bounded, Uow
from agentsuite_execution.handlers import secrets
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import INVALID, TOO_LARGE, errors, gate, tagged

routes = APIRouter(prefix="/v1", tags=["secrets"], route_class=Bounded)

Keeper = Annotated[Principal, gate("secrets:write")]
Viewer = Annotated[Principal, gate("secrets:read")]
Name = Annotated[str, Path(min_length=1, max_length=200, description="The secret's name.")]

NOT_FOUND = (404, "No such secret in the caller's tenant.")
UNCONFIGURED = (409, "No secret keys are configured (`code`: secrets_unconfigured).")


class SecretBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: SecretStr = Field(description="The credential; stored sealed, never shown again.")
    description: str | None = Field(default=None, max_length=2000, description="What it is.")


class SecretView(BaseModel):
    """A secret's metadata: never its value."""

    name: str
    description: str | None
    key_id: str = Field(description="The key it is sealed under (rotation moves it).")
    version: int = Field(description="Bumped by every PUT of a new value.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, meta: secrets.SecretMeta) -> "SecretView":
        return cls(
            name=meta.name,
            description=meta.description,
            key_id=meta.key_id,
            version=meta.version,
            created_at=meta.created_at,
            updated_at=meta.updated_at,
        )


@routes.put(
    "/secrets/{name}",
    response_model=SecretView,
    responses={
        201: {"model": SecretView, "description": "Created: the secret is new."},
        **errors(UNCONFIGURED, TOO_LARGE, INVALID),
    },
)
async def put_secret(
    name: Name, body: SecretBody, response: Response, principal: Keeper, uow: Uow, deps: AppDeps
) -> SecretView:
    """Create (201) or replace (200) the secret `name`; the answer shows its metadata."""
    command = secrets.PutSecret(name, body.value.get_secret_value(), body.description)
    meta = await secrets.put(command, uow, deps)
    await uow.commit()
    if meta.created:
        response.status_code = status.HTTP_201_CREATED
    return tagged(response, SecretView.of(meta))


@routes.get("/secrets/{name}", response_model=SecretView, responses=errors(NOT_FOUND, INVALID))
async def get_secret(name: Name, response: Response, principal: Viewer, uow: Uow) -> SecretView:
    """The secret's metadata (the value is write-only)."""
    return tagged(response, SecretView.of(await secrets.get(name, uow)))


@routes.delete(
    "/secrets/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NOT_FOUND, INVALID),
)
async def delete_secret(name: Name, principal: Keeper, uow: Uow) -> Response:
    """Remove the secret: tools naming it fail (`secret_not_found`) from then on."""
    await secrets.delete(name, uow)
    await uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
