"""Signing keys: list them, rotate now. Platform principals only."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from agentsuite_identity.api.common import platform_only
from agentsuite_identity.deps import Deps
from agentsuite_identity.handlers import signing_keys
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.auth.principal import actor_of
from agentsuite_kit.cause import acting

# No `from __future__ import annotations`: FastAPI must resolve the `Depends` in the
# route signatures, which close over local names.


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


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1/signing-keys", tags=["signing keys"])
    reading = require("signing_keys:read", platform=True)
    rotating = require("signing_keys:rotate", platform=True)

    @routes.get("", summary="Signing keys: the signer and retired keys still verifying")
    async def list_keys(principal: Annotated[Principal, Depends(reading)]) -> SigningKeyList:
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
    async def rotate(principal: Annotated[Principal, Depends(rotating)]) -> Rotated:
        platform_only(principal)
        with acting(actor_of(principal)):
            async with deps.runtime.uow(None) as uow:
                done = await signing_keys.rotate(uow, deps.keyring)
                await uow.commit()
        # this worker's verifier learns the new key now, not on the first token naming it
        if deps.runtime.keyset is not None:
            await deps.runtime.keyset.refresh()
        return Rotated(**done)

    return routes
