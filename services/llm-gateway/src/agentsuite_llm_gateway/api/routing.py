"""Routes of aliases, system rules and preferences: `models:read` to read, `models:write`
to change. A user may set or clear their own preference with `llm:invoke`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import current_principal, require
from agentsuite_kit.http.etag import Precondition, etag, if_match
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate
from agentsuite_kit.http.problems import MEDIA_TYPE, ProblemError
from agentsuite_llm_gateway.api.common import tagged, unit
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers import routing as handlers
from agentsuite_llm_gateway.handlers.routing import (
    AliasBody,
    AliasView,
    CreateAlias,
    CreateRule,
    PreferenceView,
    RuleView,
    SetPreference,
    Subject,
)
from agentsuite_llm_gateway.uow import GatewayUow

pages = cursor_params(default_limit=50, max_limit=200)

READ = "models:read"
WRITE = "models:write"

AliasPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
]

_PROBLEM = {
    "description": "Problem details",
    "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: _PROBLEM for s in (400, 401, 403, 404, 409, 412, 422, 428)
}


async def _create(
    deps: Deps,
    request: Request,
    principal: Principal,
    make: Callable[[GatewayUow], Awaitable[BaseModel]],
) -> Response:
    """A create: `make` runs once per Idempotency-Key; a retry gets the stored 201."""
    async with unit(deps, principal) as uow:
        idem = await idempotency(request, uow.session, subject=principal.subject)
        if idem.replay is not None:
            return idem.replay
        view = await make(uow)
        version = getattr(view, "version", None)
        headers = {} if version is None else {"ETag": etag(version)}
        response = JSONResponse(view.model_dump(mode="json"), status_code=201, headers=headers)
        await idem.save(response)
        await uow.commit()
    return response


def _after(page: CursorParams, *types: type) -> tuple[Any, ...] | None:
    """The cursor's key, if it has the shape this list sorts by: cursors are not signed, and
    a forged one must be a 400, not a type error from the database."""
    after = page.after
    if after is None:
        return None
    fits = len(after) == len(types) and all(
        isinstance(v, t) and (not isinstance(v, str) or "\x00" not in v)
        for v, t in zip(after, types, strict=True)
    )
    if fits and all(v.tzinfo is not None for v in after if isinstance(v, datetime)):
        return after
    raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor")


def _may_set_own(principal: Principal, user_id: UUID) -> None:
    """`models:write` sets anyone's preference; `llm:invoke` only the caller's own."""
    if principal.has(WRITE):
        return
    if principal.has("llm:invoke") and principal.subject == str(user_id):
        return
    raise ProblemError(
        403,
        f"Missing capability: {WRITE} (or llm:invoke for your own preference).",
        code="insufficient_capability",
        missing=[WRITE],
    )


def router(deps: Deps) -> APIRouter:  # noqa: C901, PLR0915  router closure: one nested route per endpoint; goes with module-level routers (issue 15 #2)
    routes = APIRouter(prefix="/v1", tags=["routing"], responses=_ERRORS)

    # --- aliases ------------------------------------------------------------------------

    @routes.post("/aliases", status_code=201, response_model=AliasView)
    async def create_alias(
        body: CreateAlias,
        request: Request,
        principal: Annotated[Principal, Depends(require(WRITE))],
    ) -> Response:
        async def make(uow: GatewayUow) -> BaseModel:
            return await handlers.create_alias(body, uow)

        return await _create(deps, request, principal, make)

    @routes.get("/aliases")
    async def list_aliases(
        principal: Annotated[Principal, Depends(require(READ))],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[AliasView]:
        after = _after(page, str)
        async with unit(deps, principal) as uow:
            rows = await uow.aliases.page(None if after is None else after[0], page.limit)
        items = [AliasView.of(r) for r in rows]
        return paginate(items, page.limit, lambda a: (a.name,))

    @routes.get("/aliases/{name}")
    async def get_alias(
        name: AliasPath,
        response: Response,
        principal: Annotated[Principal, Depends(require(READ))],
    ) -> AliasView:
        async with unit(deps, principal) as uow:
            view = await handlers.get_alias(uow, name)
        tagged(response, view)
        return view

    @routes.put("/aliases/{name}")
    async def replace_alias(
        name: AliasPath,
        body: AliasBody,
        response: Response,
        principal: Annotated[Principal, Depends(require(WRITE))],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> AliasView:
        async with unit(deps, principal) as uow:
            view = await handlers.replace_alias(body, uow, name=name, precondition=precondition)
            await uow.commit()
        tagged(response, view)
        return view

    @routes.delete("/aliases/{name}", status_code=204)
    async def delete_alias(
        name: AliasPath, principal: Annotated[Principal, Depends(require(WRITE))]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.delete_alias(uow, name=name)
            await uow.commit()
        return Response(status_code=204)

    # --- rules --------------------------------------------------------------------------

    @routes.post("/rules", status_code=201, response_model=RuleView)
    async def create_rule(
        body: CreateRule,
        request: Request,
        principal: Annotated[Principal, Depends(require(WRITE))],
    ) -> Response:
        async def make(uow: GatewayUow) -> BaseModel:
            return await handlers.create_rule(body, uow)

        return await _create(deps, request, principal, make)

    @routes.get("/rules")
    async def list_rules(
        principal: Annotated[Principal, Depends(require(READ))],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[RuleView]:
        async with unit(deps, principal) as uow:
            rows = await uow.rules.page(_after(page, datetime, UUID), page.limit)
        items = [RuleView.of(r) for r in rows]
        return paginate(items, page.limit, lambda r: (r.created_at, r.rule_id))

    @routes.get("/rules/{rule_id}")
    async def get_rule(
        rule_id: UUID, principal: Annotated[Principal, Depends(require(READ))]
    ) -> RuleView:
        async with unit(deps, principal) as uow:
            return await handlers.get_rule(uow, rule_id)

    @routes.delete("/rules/{rule_id}", status_code=204)
    async def delete_rule(
        rule_id: UUID, principal: Annotated[Principal, Depends(require(WRITE))]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.delete_rule(uow, rule_id=rule_id)
            await uow.commit()
        return Response(status_code=204)

    # --- preferences --------------------------------------------------------------------

    @routes.get("/preferences")
    async def list_preferences(
        principal: Annotated[Principal, Depends(require(READ))],
        page: Annotated[CursorParams, Depends(pages)],
    ) -> Page[PreferenceView]:
        async with unit(deps, principal) as uow:
            rows = await uow.preferences.page(_after(page, str, str), page.limit)
        items = [PreferenceView.of(r) for r in rows]
        return paginate(items, page.limit, lambda p: (p.subject_kind, p.subject_id))

    async def put(
        principal: Principal, subject: Subject, body: SetPreference, precondition: Precondition
    ) -> PreferenceView:
        async with unit(deps, principal) as uow:
            view = await handlers.set_preference(
                body, uow, subject=subject, precondition=precondition
            )
            await uow.commit()
        return view

    async def remove(principal: Principal, subject: Subject) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.delete_preference(uow, subject=subject)
            await uow.commit()
        return Response(status_code=204)

    @routes.put("/preferences/tenant")
    async def set_tenant_preference(
        body: SetPreference,
        response: Response,
        principal: Annotated[Principal, Depends(require(WRITE))],
        precondition: Annotated[Precondition, Depends(if_match(required=False))],
    ) -> PreferenceView:
        subject = handlers.tenant_subject(principal.tenant)
        view = await put(principal, subject, body, precondition)
        tagged(response, view)
        return view

    @routes.delete("/preferences/tenant", status_code=204)
    async def delete_tenant_preference(
        principal: Annotated[Principal, Depends(require(WRITE))],
    ) -> Response:
        return await remove(principal, handlers.tenant_subject(principal.tenant))

    @routes.put("/preferences/users/{user_id}")
    async def set_user_preference(
        user_id: UUID,
        body: SetPreference,
        response: Response,
        principal: Annotated[Principal, Depends(current_principal)],
        precondition: Annotated[Precondition, Depends(if_match(required=False))],
    ) -> PreferenceView:
        _may_set_own(principal, user_id)
        view = await put(principal, handlers.user_subject(user_id), body, precondition)
        tagged(response, view)
        return view

    @routes.delete("/preferences/users/{user_id}", status_code=204)
    async def delete_user_preference(
        user_id: UUID, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Response:
        _may_set_own(principal, user_id)
        return await remove(principal, handlers.user_subject(user_id))

    return routes
