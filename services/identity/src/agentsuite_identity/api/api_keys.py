"""Routes of the api_keys area: create (secret shown once), list, read, revoke."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from agentsuite_contracts.envelope import Actor
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import DomainError
from agentsuite_identity.handlers import api_keys as handlers
from agentsuite_identity.handlers.api_keys import (
    ApiKeyView,
    CreateApiKey,
    CreatedApiKey,
    RevokeApiKey,
)
from agentsuite_kit.auth import Principal, PrincipalKind
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.cause import acting
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate
from agentsuite_kit.http.problems import ProblemError

_pages = cursor_params(default_limit=50, max_limit=200)


def _problem(exc: DomainError) -> ProblemError:
    extra: dict[str, Any] = {}
    if exc.field is not None:
        extra["field"] = exc.field
        if exc.status == 422:
            extra["errors"] = [
                {"loc": ["body", *_loc(exc.field)], "msg": exc.detail, "type": "value_error"}
            ]
    return ProblemError(exc.status, exc.detail, code=exc.code, **extra)


def _loc(field: str) -> list[str | int]:
    # "scopes[2]" -> ["scopes", 2], as FastAPI's own validation errors name a list item
    name, _, index = field.partition("[")
    return [name, int(index.rstrip("]"))] if index else [name]


_ACTOR_KINDS: dict[PrincipalKind, Literal["user", "api_key", "service", "system"]] = {
    PrincipalKind.USER: "user",
    PrincipalKind.API_KEY: "api_key",
    PrincipalKind.SERVICE: "service",
    PrincipalKind.PLATFORM: "system",
}


def _actor(principal: Principal) -> Actor:
    return Actor(kind=_ACTOR_KINDS[principal.kind], id=principal.subject)


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


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["api-keys"])

    @routes.post("/api-keys", status_code=201, response_model=CreatedApiKey)
    async def create_api_key(
        cmd: CreateApiKey,
        request: Request,
        principal: Annotated[Principal, Depends(require("api_keys:write"))],
    ) -> Response:
        """Issue a key; the response is the only place its secret ever appears."""
        creator = _user(principal)
        with acting(_actor(principal)):
            async with deps.runtime.uow(principal.tenant) as uow:
                idem = await idempotency(request, uow.session, subject=principal.subject)
                if idem.replay is not None:
                    return idem.replay
                try:
                    created = await handlers.create(
                        cmd, uow, creator=creator, held=principal.capabilities
                    )
                except DomainError as exc:
                    raise _problem(exc) from None
                # the replay keeps everything but the secret, which is neither stored nor
                # shown twice
                body = created.model_dump(mode="json")
                await idem.save(JSONResponse({**body, "key": None}, status_code=201))
                await uow.commit()
        return JSONResponse(body, status_code=201, headers={"Cache-Control": "no-store"})

    @routes.get("/api-keys")
    async def list_api_keys(
        principal: Annotated[Principal, Depends(require("api_keys:read"))],
        page: Annotated[CursorParams, Depends(_pages)],
        user_id: Annotated[UUID | None, Query(description="Only this user's keys.")] = None,
        org_id: Annotated[UUID | None, Query(description="Only this org's keys.")] = None,
    ) -> Page[ApiKeyView]:
        async with deps.runtime.uow(principal.tenant) as uow:
            rows = await uow.api_keys.page(
                page.limit + 1, page.after, user_id=user_id, org_id=org_id
            )
        views = [ApiKeyView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.id))

    @routes.get("/api-keys/{api_key_id}")
    async def get_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:read"))],
    ) -> ApiKeyView:
        async with deps.runtime.uow(principal.tenant) as uow:
            row = await uow.api_keys.get(api_key_id)
        if row is None:
            raise ProblemError(404, "No such API key.", code="not_found")
        return ApiKeyView.of(row)

    async def _revoke(principal: Principal, api_key_id: UUID, cmd: RevokeApiKey) -> ApiKeyView:
        with acting(_actor(principal)):
            async with deps.runtime.uow(principal.tenant) as uow:
                try:
                    return await handlers.revoke(cmd, uow, api_key_id=api_key_id)
                except DomainError as exc:
                    raise _problem(exc) from None

    @routes.post("/api-keys/{api_key_id}/revoke")
    async def revoke_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:write"))],
        cmd: RevokeApiKey | None = None,
    ) -> ApiKeyView:
        """Revoke at once: identity refuses the key's tokens from now on; other services
        within the token TTL (`api_key_token_ttl`)."""
        return await _revoke(principal, api_key_id, cmd or RevokeApiKey())

    @routes.delete("/api-keys/{api_key_id}", status_code=204)
    async def delete_api_key(
        api_key_id: UUID,
        principal: Annotated[Principal, Depends(require("api_keys:write"))],
    ) -> Response:
        """The same as revoking without a reason; the row stays for the audit trail."""
        await _revoke(principal, api_key_id, RevokeApiKey())
        return Response(status_code=204)

    return routes
