"""Routes of aliases, system rules and preferences: `models:read` to read, `models:write`
to change. A user may set or clear their own preference with `llm:invoke`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    CurrentPrincipal,
    IfMatch,
    OptionalIfMatch,
    Pages,
    create,
    errors,
    gate,
    tagged,
)
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_llm_gateway.api.common import AppDeps, Bounded, Uow
from agentsuite_llm_gateway.handlers import routing as handlers
from agentsuite_llm_gateway.handlers.routing import (
    AliasBody,
    AliasView,
    CreateAlias,
    CreateRule,
    DeleteAlias,
    DeletePreference,
    DeleteRule,
    GetAlias,
    GetRule,
    PreferenceView,
    PutPreference,
    ReplaceAlias,
    RuleView,
    SetPreference,
    Subject,
)
from agentsuite_llm_gateway.uow import GatewayUow

READ = "models:read"
WRITE = "models:write"
Reader = Annotated[Principal, gate(READ)]
Writer = Annotated[Principal, gate(WRITE)]

AliasPath = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@+-]*$")
]

_ERRORS = errors(*((s, "Problem details") for s in (400, 401, 403, 404, 409, 412, 422, 428)))

routes = APIRouter(prefix="/v1", tags=["routing"], responses=_ERRORS, route_class=Bounded)


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


# --- aliases ------------------------------------------------------------------------------


@routes.post("/aliases", status_code=201, response_model=AliasView)
async def create_alias(
    body: CreateAlias, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    async def make() -> tuple[AliasView, int]:
        view = await handlers.create_alias(body, uow, deps)
        return view, view.version

    return await create(request, uow, principal, make)


@routes.get("/aliases")
async def list_aliases(principal: Reader, page: Pages, uow: Uow) -> Page[AliasView]:
    after = shaped(page, str)
    rows = await uow.aliases.page(None if after is None else cast("str", after[0]), page.limit)
    items = [AliasView.of(r) for r in rows]
    return paginate(items, page.limit, lambda a: (a.name,))


@routes.get("/aliases/{name}")
async def get_alias(
    name: AliasPath, response: Response, principal: Reader, uow: Uow, deps: AppDeps
) -> AliasView:
    return tagged(response, await handlers.get_alias(GetAlias(name), uow, deps))


@routes.put("/aliases/{name}")
async def replace_alias(
    name: AliasPath,
    body: AliasBody,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> AliasView:
    view = await handlers.replace_alias(ReplaceAlias(name, body, precondition), uow, deps)
    await uow.commit()
    return tagged(response, view)


@routes.delete("/aliases/{name}", status_code=204)
async def delete_alias(name: AliasPath, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.delete_alias(DeleteAlias(name), uow, deps)
    await uow.commit()
    return Response(status_code=204)


# --- rules --------------------------------------------------------------------------------


@routes.post("/rules", status_code=201, response_model=RuleView)
async def create_rule(
    body: CreateRule, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    async def make() -> tuple[RuleView, None]:
        return await handlers.create_rule(body, uow, deps), None

    return await create(request, uow, principal, make)


@routes.get("/rules")
async def list_rules(principal: Reader, page: Pages, uow: Uow) -> Page[RuleView]:
    rows = await uow.rules.page(shaped(page, datetime, UUID), page.limit)
    items = [RuleView.of(r) for r in rows]
    return paginate(items, page.limit, lambda r: (r.created_at, r.rule_id))


@routes.get("/rules/{rule_id}")
async def get_rule(rule_id: UUID, principal: Reader, uow: Uow, deps: AppDeps) -> RuleView:
    return await handlers.get_rule(GetRule(rule_id), uow, deps)


@routes.delete("/rules/{rule_id}", status_code=204)
async def delete_rule(rule_id: UUID, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.delete_rule(DeleteRule(rule_id), uow, deps)
    await uow.commit()
    return Response(status_code=204)


# --- preferences --------------------------------------------------------------------------


@routes.get("/preferences")
async def list_preferences(principal: Reader, page: Pages, uow: Uow) -> Page[PreferenceView]:
    rows = await uow.preferences.page(shaped(page, str, str), page.limit)
    items = [PreferenceView.of(r) for r in rows]
    return paginate(items, page.limit, lambda p: (p.subject_kind, p.subject_id))


async def _put(cmd: PutPreference, uow: GatewayUow, deps: AppDeps) -> PreferenceView:
    view = await handlers.set_preference(cmd, uow, deps)
    await uow.commit()
    return view


async def _remove(subject: Subject, uow: GatewayUow, deps: AppDeps) -> Response:
    await handlers.delete_preference(DeletePreference(subject), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.put("/preferences/tenant")
async def set_tenant_preference(
    body: SetPreference,
    response: Response,
    principal: Writer,
    precondition: OptionalIfMatch,
    uow: Uow,
    deps: AppDeps,
) -> PreferenceView:
    subject = handlers.tenant_subject(principal.tenant)
    return tagged(response, await _put(PutPreference(subject, body, precondition), uow, deps))


@routes.delete("/preferences/tenant", status_code=204)
async def delete_tenant_preference(principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    return await _remove(handlers.tenant_subject(principal.tenant), uow, deps)


@routes.put("/preferences/users/{user_id}")
async def set_user_preference(
    user_id: UUID,
    body: SetPreference,
    response: Response,
    principal: CurrentPrincipal,
    precondition: OptionalIfMatch,
    uow: Uow,
    deps: AppDeps,
) -> PreferenceView:
    _may_set_own(principal, user_id)
    subject = handlers.user_subject(user_id)
    return tagged(response, await _put(PutPreference(subject, body, precondition), uow, deps))


@routes.delete("/preferences/users/{user_id}", status_code=204)
async def delete_user_preference(
    user_id: UUID, principal: CurrentPrincipal, uow: Uow, deps: AppDeps
) -> Response:
    _may_set_own(principal, user_id)
    return await _remove(handlers.user_subject(user_id), uow, deps)
