"""The revocation list the kit's verifiers poll (`agentsuite_kit.auth.revocations`): the
principals whose still-unexpired tokens other services must refuse."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from agentsuite_identity.deps import Deps

LIMIT = 100_000
"""Entries at most: disabling this many principals within one token life is an incident
of its own, and the newest are the ones listed."""


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["discovery"])

    @routes.get("/revocations", summary="Principals whose unexpired tokens must be refused")
    async def revocations(response: Response) -> dict[str, Any]:
        """Public, like the JWKS: ids only (disabled service accounts, deactivated users,
        revoked API keys), each listed while a token issued before its change may live.
        Verifiers refuse every token of a listed subject: none of them can get a new one."""
        s = deps.settings
        horizon = max(s.access_token_ttl, s.api_key_token_ttl) + s.token_leeway
        async with deps.runtime.uow(None, all_tenants=True) as uow:
            subjects = await uow.revocations.recent(horizon, LIMIT)
        response.headers["Cache-Control"] = "no-store"
        return {"subjects": subjects, "horizon": horizon}

    return routes
