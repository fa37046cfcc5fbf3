"""Routes of the api_keys area: create (secret shown once), list, read, revoke."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from agentsuite_identity.api.common import created, found, in_scope, org_named, pages, unit
from agentsuite_identity.deps import Deps
from agentsuite_identity.handlers import api_keys as handlers
from agentsuite_identity.handlers.api_keys import (
    ApiKeyView,
    CreateApiKey,
    CreatedApiKey,
    RevokeApiKey,
)
from agentsuite_kit.auth import Principal, PrincipalKind
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, paginate
from agentsuite_kit.http.problems import ProblemError


def _user(principal: Principal) -> UUID:
    """A key acts for a person: only a user's own token may create one."""
    if principal.kind is not PrincipalKind.USER:
        raise ProblemError(
            403, "API keys are created with a user's token.", code="user_token_required"
        )
    try:
        return UUID(principal.subject)
    except ValueError:
        raise ProblemError(403, "The token's subject is not a user id.", code="forbidden") from None


def router(deps: Deps) -> APIRouter:  # noqa: C901  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1", tags=["api-keys"])

    @routes.post("/api-keys", status_code=201, response_model=CreatedApiKey)
    async def create_api_key(
        cmd: CreateApiKey,
        request: Request,
        principal: Annotated[Principal, Depends(require("api_keys:write", org=True))],
    ) -> Response:
        """Issue a key; the response is the only place its secret ever appears."""
        creator = _user(principal)
        # a personal key acts tenant-wide: an org-scoped token makes its org's keys only
        org_named(principal, cmd.org_id)
        async with unit(deps, principal) as uow:
            idem = await idempotency(request, uow.session, subject=principal.subject)
            if idem.replay is not None:
                return idem.replay
            made = await handlers.create(cmd, uow, creator=creator, held=principal.capabilities)
            # the replay keeps everything but the secret, which is neither stored nor
            # shown twice
            body = made.model_dump(mode="json")
            await created(idem, uow, {**body, "key": None})
        return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})

    @routes.get("/api-keys")
    async def list_api_keys(
        principal: Annotated[Principal, Depends(require("api_keys:read", org=True))],
        page: Annotated[CursorParams, Depends(pages)],
        user_id: Annotated[UUID | None, Query(description="Only this user's keys.")] = None,
        org_id: Annotated[UUID | None, Query(description="Only this org's keys.")] = None,
    ) -> Page[ApiKeyView]:
        if principal.org_id is not None:
            if not principal.reaches(org_id or principal.org_id):
                return paginate([], page.limit, lambda v: (v.created_at, v.id))
            org_id = principal.org_id
        async with deps.runtime.uow(principal.tenant) as uow:
            rows = await uow.api_keys.page(
                page.limit + 1, page.after, user_id=user_id, org_id=org_id
            )
        views = [ApiKeyView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.id))

    @routes.get("/api-keys/{api_key_id}")
    async def get_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:read", org=True))],
    ) -> ApiKeyView:
        async with deps.runtime.uow(principal.tenant) as uow:
            row = found(await uow.api_keys.get(api_key_id), "No such API key.")
        in_scope(principal, row.org_id, "No such API key.")
        return ApiKeyView.of(row)

    async def _revoke(principal: Principal, api_key_id: UUID, cmd: RevokeApiKey) -> ApiKeyView:
        async with unit(deps, principal) as uow:
            if principal.org_id is not None:
                row = await uow.api_keys.get(api_key_id)
                in_scope(principal, None if row is None else row.org_id, "No such API key.")
            return await handlers.revoke(cmd, uow, api_key_id=api_key_id)

    @routes.post("/api-keys/{api_key_id}/revoke")
    async def revoke_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:write", org=True))],
        cmd: RevokeApiKey | None = None,
    ) -> ApiKeyView:
        """Revoke at once: identity refuses the key's tokens from now on; other services
        within the token TTL (`api_key_token_ttl`)."""
        return await _revoke(principal, api_key_id, cmd or RevokeApiKey())

    @routes.delete("/api-keys/{api_key_id}", status_code=204)
    async def delete_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:write", org=True))],
    ) -> Response:
        """The same as revoking without a reason; the row stays for the audit trail."""
        await _revoke(principal, api_key_id, RevokeApiKey())
        return Response(status_code=204)

    return routes
