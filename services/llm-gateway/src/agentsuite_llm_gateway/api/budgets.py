"""Budget routes: `budgets:write` changes them, `usage:read` reads them (spent, reserved,
remaining, the window). Every write tells the catalogues, which carry the budget rules."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import IfMatch, Pages, created, errors, gate, tagged
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped
from agentsuite_llm_gateway.api.common import AppDeps, Bounded, Uow
from agentsuite_llm_gateway.handlers import budgets as handlers
from agentsuite_llm_gateway.handlers.budgets import (
    BudgetView,
    ChangeBudget,
    CreateBudget,
    DeleteBudget,
    GetBudget,
    ResetBudget,
    UpdateBudget,
)

_ERRORS = errors(
    (400, "A malformed cursor, Idempotency-Key or If-Match."),
    (404, "No such budget in the caller's tenant."),
    (409, "A budget for this scope, subject and period exists."),
    (412, "If-Match names another version."),
    (422, "A field is invalid; `errors` names it."),
    (428, "If-Match is required."),
)


Reader = Annotated[Principal, gate("usage:read")]
Writer = Annotated[Principal, gate("budgets:write")]

routes = APIRouter(prefix="/v1", tags=["budgets"], responses=_ERRORS, route_class=Bounded)


@routes.post("/budgets", status_code=201, response_model=BudgetView)
async def create_budget(
    cmd: CreateBudget, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    """A budget for the tenant, an org, an API key or a user: a token limit, a cost
    limit or both, per UTC day, month or in total. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    view = await handlers.create_budget(cmd, uow, deps)
    where = {"Location": f"/v1/budgets/{view.budget_id}"}
    return await created(idem, uow, view, version=view.version, headers=where)


@routes.get("/budgets", response_model=Page[BudgetView])
async def list_budgets(
    principal: Reader,
    page: Pages,
    uow: Uow,
    scope: Annotated[
        Literal["tenant", "org", "api_key", "user"] | None, Query(description="Only these.")
    ] = None,
) -> Page[BudgetView]:
    rows = await uow.budgets.page(shaped(page, datetime, UUID), page.limit, scope)
    views = [BudgetView.of(r) for r in rows]
    return paginate(views, page.limit, lambda v: (v.created_at, v.budget_id))


@routes.get("/budgets/{budget_id}", response_model=BudgetView)
async def get_budget(
    budget_id: UUID, response: Response, principal: Reader, uow: Uow, deps: AppDeps
) -> BudgetView:
    """With spent, reserved and remaining in the current window."""
    return tagged(response, await handlers.get_budget(GetBudget(budget_id), uow, deps))


@routes.patch("/budgets/{budget_id}", response_model=BudgetView)
async def update_budget(
    budget_id: UUID,
    cmd: UpdateBudget,
    response: Response,
    principal: Writer,
    precondition: IfMatch,
    uow: Uow,
    deps: AppDeps,
) -> BudgetView:
    """Limits, currency, what happens on exhaustion, the warning; spend is kept.
    Needs `If-Match`."""
    change = ChangeBudget(budget_id, cmd, precondition)
    return tagged(response, await handlers.update_budget(change, uow, deps))


@routes.delete("/budgets/{budget_id}", status_code=204)
async def delete_budget(budget_id: UUID, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    await handlers.delete_budget(DeleteBudget(budget_id), uow, deps)
    return Response(status_code=204)


@routes.post("/budgets/{budget_id}/reset", response_model=BudgetView)
async def reset_budget(
    budget_id: UUID, response: Response, principal: Writer, uow: Uow, deps: AppDeps
) -> BudgetView:
    """Zero the current window's spend (calls in flight keep what they reserved)."""
    return tagged(response, await handlers.reset_budget(ResetBudget(budget_id), uow, deps))
