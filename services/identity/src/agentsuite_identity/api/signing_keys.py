"""Signing keys: list them, rotate now. Platform principals only."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from agentsuite_identity.api.common import AppDeps, Bounded, platform_only, unit
from agentsuite_identity.handlers import signing_keys
from agentsuite_identity.handlers.signing_keys import RotateKey
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import gate

# No `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name.


class SigningKeyView(BaseModel):
    kid: str
    algorithm: str
    activated_at: datetime | None
    retired_at: datetime | None
    verify_until: datetime | None
    signing: bool


class SigningKeyList(BaseModel):
    items: list[SigningKeyView]


class Rotated(BaseModel):
    kid: str
    previous_kid: str | None
    previous_valid_until: datetime | None


Reader = Annotated[Principal, gate("signing_keys:read", platform=True)]
Rotator = Annotated[Principal, gate("signing_keys:rotate", platform=True)]

routes = APIRouter(prefix="/v1/signing-keys", tags=["signing keys"], route_class=Bounded)


@routes.get("", summary="Signing keys: the signer and retired keys still verifying")
async def list_keys(principal: Reader, deps: AppDeps) -> SigningKeyList:
    platform_only(principal)
    async with deps.runtime.uow(None) as uow:
        rows = await uow.signing_keys.listing()
    signer = next((r.kid for r in rows if r.retired_at is None), None)
    return SigningKeyList(
        items=[
            SigningKeyView(
                kid=r.kid,
                algorithm=r.algorithm,
                activated_at=r.activated_at,
                retired_at=r.retired_at,
                verify_until=r.verify_until,
                signing=r.kid == signer,
            )
            for r in rows
        ]
    )


@routes.post(
    "/rotate",
    status_code=201,
    summary="Rotate now: a new key signs, the previous one verifies until its tokens expire",
)
async def rotate(principal: Rotator, deps: AppDeps) -> Rotated:
    platform_only(principal)
    async with unit(deps, principal, None) as uow:
        done = await signing_keys.rotate(RotateKey(), uow, deps)
        await uow.commit()
    # this worker's verifier learns the new key now, not on the first token naming it
    if deps.runtime.keyset is not None:
        await deps.runtime.keyset.refresh()
    return Rotated(**done)
