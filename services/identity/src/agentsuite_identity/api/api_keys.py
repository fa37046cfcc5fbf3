"""Routes of the api_keys area: create (secret shown once), list, read, revoke."""

# no `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signatures name

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from agentsuite_identity.api.common import AppDeps, Bounded, OrgUow, in_scope, org_named
from agentsuite_identity.handlers import api_keys as handlers
from agentsuite_identity.handlers.api_keys import (
    ApiKeyView,
    CreateApiKey,
    CreatedApiKey,
    IssueKey,
    RevokeApiKey,
    RevokeKey,
)
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal, PrincipalKind
from agentsuite_kit.edge import Pages, created, found, gate, user_id_of
from agentsuite_kit.errors import Forbidden
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped

Reader = Annotated[Principal, gate("api_keys:read", org=True)]
Writer = Annotated[Principal, gate("api_keys:write", org=True)]

routes = APIRouter(prefix="/v1", tags=["api-keys"], route_class=Bounded)


def _creator(principal: Principal) -> UUID:
    """A key acts for a person: only a user's own token may create one."""
    if principal.kind is not PrincipalKind.USER:
        raise Forbidden("user_token_required", "API keys are created with a user's token.")
    user = user_id_of(principal)
    if user is None:
        raise Forbidden("forbidden", "The token's subject is not a user id.")
    return user


@routes.post("/api-keys", status_code=201, response_model=CreatedApiKey)
async def create_api_key(
    body: CreateApiKey, request: Request, principal: Writer, uow: OrgUow, deps: AppDeps
) -> Response:
    """Issue a key; the response is the only place its secret ever appears."""
    creator = _creator(principal)
    # a personal key acts tenant-wide: an org-scoped token makes its org's keys only
    org_named(principal, body.org_id)
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    cmd = IssueKey(body, creator=creator, held=principal.capabilities)
    made = await handlers.create(cmd, uow, deps)
    # the replay keeps everything but the secret, which is neither stored nor shown twice
    shown = made.model_dump(mode="json")
    await created(idem, uow, {**shown, "key": None})
    return JSONResponse(shown, status_code=201, headers={"Cache-Control": "no-store"})


@routes.get("/api-keys")
async def list_api_keys(
    principal: Reader,
    uow: OrgUow,
    page: Pages,
    user_id: Annotated[UUID | None, Query(description="Only this user's keys.")] = None,
    org_id: Annotated[UUID | None, Query(description="Only this org's keys.")] = None,
) -> Page[ApiKeyView]:
    after = shaped(page, datetime, UUID)
    if principal.org_id is not None:
        if not principal.reaches(org_id or principal.org_id):
            return paginate([], page.limit, lambda v: (v.created_at, v.id))
        org_id = principal.org_id
    rows = await uow.api_keys.page(page.limit + 1, after, user_id=user_id, org_id=org_id)
    views = [ApiKeyView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.id))


@routes.get("/api-keys/{api_key_id}")
async def get_api_key(api_key_id: UUID, principal: Reader, uow: OrgUow) -> ApiKeyView:
    row = found(await uow.api_keys.get(api_key_id), "No such API key.")
    in_scope(principal, row.org_id, "No such API key.")
    return ApiKeyView.of(row)


async def _revoke(
    principal: Principal, cmd: RevokeKey, uow: IdentityUow, deps: AppDeps
) -> ApiKeyView:
    if principal.org_id is not None:
        row = await uow.api_keys.get(cmd.api_key_id)
        in_scope(principal, None if row is None else row.org_id, "No such API key.")
    return await handlers.revoke(cmd, uow, deps)


@routes.post("/api-keys/{api_key_id}/revoke")
async def revoke_api_key(
    api_key_id: UUID,
    principal: Writer,
    uow: OrgUow,
    deps: AppDeps,
    body: RevokeApiKey | None = None,
) -> ApiKeyView:
    """Revoke at once: identity refuses the key's tokens from now on; other services
    within the token TTL (`api_key_token_ttl`)."""
    reason = None if body is None else body.reason
    return await _revoke(principal, RevokeKey(api_key_id, reason), uow, deps)


@routes.delete("/api-keys/{api_key_id}", status_code=204)
async def delete_api_key(
    api_key_id: UUID, principal: Writer, uow: OrgUow, deps: AppDeps
) -> Response:
    """The same as revoking without a reason; the row stays for the audit trail."""
    await _revoke(principal, RevokeKey(api_key_id), uow, deps)
    return Response(status_code=204)
