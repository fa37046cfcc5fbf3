"""Budget routes: `budgets:write` changes them, `usage:read` reads them (spent, reserved,
remaining, the window). Every write tells the catalogues, which carry the budget rules."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse

from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.etag import Precondition, etag, if_match
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate
from agentsuite_llm_gateway.api.common import tagged, unit
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers import budgets as handlers
from agentsuite_llm_gateway.handlers.budgets import BudgetView, CreateBudget, UpdateBudget

pages = cursor_params(default_limit=50, max_limit=200)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": text,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for code, text in (
        (400, "A malformed cursor, Idempotency-Key or If-Match."),
        (404, "No such budget in the caller's tenant."),
        (409, "A budget for this scope, subject and period exists."),
        (412, "If-Match names another version."),
        (422, "A field is invalid; `errors` names it."),
        (428, "If-Match is required."),
    )
}


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(prefix="/v1", tags=["budgets"], responses=_ERRORS)
    reading = require("usage:read")
    writing = require("budgets:write")

    @routes.post("/budgets", status_code=201, response_model=BudgetView)
    async def create_budget(
        cmd: CreateBudget, request: Request, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        """A budget for the tenant, an org, an API key or a user: a token limit, a cost
        limit or both, per UTC day, month or in total. Honours `Idempotency-Key`."""
        async with unit(deps, principal) as uow:
            idem = await idempotency(request, uow.session, subject=principal.subject)
            if idem.replay is not None:
                return idem.replay
            view = await handlers.create_budget(uow, cmd)
            headers = {"ETag": etag(view.version), "Location": f"/v1/budgets/{view.budget_id}"}
            response = JSONResponse(view.model_dump(mode="json"), 201, headers=headers)
            await idem.save(response)
            await uow.commit()
        return response

    @routes.get("/budgets", response_model=Page[BudgetView])
    async def list_budgets(
        principal: Annotated[Principal, Depends(reading)],
        page: Annotated[CursorParams, Depends(pages)],
        scope: Annotated[
            Literal["tenant", "org", "api_key", "user"] | None, Query(description="Only these.")
        ] = None,
    ) -> Page[BudgetView]:
        async with unit(deps, principal) as uow:
            rows = await uow.budgets.page(page.after, page.limit, scope)
        views = [BudgetView.of(r) for r in rows]
        return paginate(views, page.limit, lambda v: (v.created_at, v.budget_id))

    @routes.get("/budgets/{budget_id}", response_model=BudgetView)
    async def get_budget(
        budget_id: UUID, response: Response, principal: Annotated[Principal, Depends(reading)]
    ) -> BudgetView:
        """With spent, reserved and remaining in the current window."""
        async with unit(deps, principal) as uow:
            view = BudgetView.of(await handlers.get_budget(uow, budget_id))
        return tagged(response, view)

    @routes.patch("/budgets/{budget_id}", response_model=BudgetView)
    async def update_budget(
        budget_id: UUID,
        cmd: UpdateBudget,
        response: Response,
        principal: Annotated[Principal, Depends(writing)],
        precondition: Annotated[Precondition, Depends(if_match())],
    ) -> BudgetView:
        """Limits, currency, what happens on exhaustion, the warning; spend is kept.
        Needs `If-Match`."""
        async with unit(deps, principal) as uow:
            view = await handlers.update_budget(uow, budget_id, cmd, precondition.check)
        return tagged(response, view)

    @routes.delete("/budgets/{budget_id}", status_code=204)
    async def delete_budget(
        budget_id: UUID, principal: Annotated[Principal, Depends(writing)]
    ) -> Response:
        async with unit(deps, principal) as uow:
            await handlers.delete_budget(uow, budget_id)
        return Response(status_code=204)

    @routes.post("/budgets/{budget_id}/reset", response_model=BudgetView)
    async def reset_budget(
        budget_id: UUID, response: Response, principal: Annotated[Principal, Depends(writing)]
    ) -> BudgetView:
        """Zero the current window's spend (calls in flight keep what they reserved)."""
        async with unit(deps, principal) as uow:
            view = await handlers.reset_budget(uow, budget_id)
        return tagged(response, view)

    return routes
