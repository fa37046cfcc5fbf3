"""Executions: start one, list them, read one, its steps and its approvals."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, cast
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, Response

from agentsuite_contracts.execution import Trigger
from agentsuite_execution.api.edge import (
    LIST,
    READ,
    AppDeps,
    Bounded,
    Reader,
    Starter,
    StepPages,
    Uow,
    run_of,
    shown,
)
from agentsuite_execution.api.schemas import ApprovalView, ExecutionView, StartBody, StepView
from agentsuite_execution.domain.states import RunStatus
from agentsuite_execution.handlers.runs import StartRun, start
from agentsuite_execution.repositories.timeline import Timeline
from agentsuite_kit.edge import TOO_LARGE, Pages, created, errors, found, user_id_of
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, paginate, shaped

# a cursor of another list (it decodes, but not to this list's key)
StepKey = Annotated[str, Path(min_length=1, max_length=300, description="The step's key.")]

routes = APIRouter(prefix="/v1", tags=["executions"], route_class=Bounded)


@routes.post(
    "/executions",
    status_code=201,
    response_model=ExecutionView,
    responses=errors(
        (400, "A malformed Idempotency-Key."),
        (
            409,
            "The Idempotency-Key's first request left no response, the plan is stale (`code`: "
            "plan_stale: a requirement it cites changed; approving a version again clears "
            "it), or the tenant is suspended or deleted (`code`: tenant_inactive).",
        ),
        TOO_LARGE,
        (
            422,
            "A field is invalid, the plan (version) is not approved here "
            "(`code`: plan_not_runnable), the inputs do not match the plan's inputs "
            "schema, or the Idempotency-Key was used for another request.",
        ),
    ),
)
async def start_execution(
    body: StartBody,
    request: Request,
    principal: Starter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key and body gets the first response.",
        ),
    ] = None,
) -> Response:
    """Run an approved plan: its steps start at once. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = StartRun(
        plan_id=body.plan_id,
        plan_version=body.plan_version,
        inputs=body.inputs,
        budget=body.budget,
        labels=dict(body.labels),
        trigger=Trigger.API,
        created_by=user_id_of(principal),
    )
    run = await start(command, uow, deps)
    return await created(
        idem,
        uow,
        ExecutionView.of(run),
        version=run.version,
        headers={"Location": f"/v1/executions/{run.execution_id}"},
    )


@routes.get("/executions", response_model=Page[ExecutionView], responses=LIST)
async def list_executions(
    principal: Reader,
    page: Pages,
    uow: Uow,
    status: Annotated[RunStatus | None, Query(description="Only runs in this status.")] = None,
    plan_id: Annotated[UUID | None, Query(description="Only runs of this plan.")] = None,
) -> Page[ExecutionView]:
    """Newest first."""
    after = _after(page)
    runs = await uow.executions.page(after=after, limit=page.limit, status=status, plan_id=plan_id)
    views = [ExecutionView.of(r) for r in runs]
    return paginate(views, page.limit, lambda v: (v.created_at, v.execution_id))


@routes.get("/executions/{execution_id}", response_model=ExecutionView, responses=READ)
async def get_execution(
    execution_id: UUID, response: Response, principal: Reader, uow: Uow
) -> ExecutionView:
    return shown(response, await run_of(uow, execution_id))


@routes.get("/executions/{execution_id}/steps", response_model=Page[StepView], responses=READ)
async def list_steps(
    execution_id: UUID, principal: Reader, page: StepPages, uow: Uow
) -> Page[StepView]:
    """By key."""
    shape = shaped(page, str)
    after = None if shape is None else cast("str", shape[0])
    run = await run_of(uow, execution_id)
    steps = await Timeline(uow.session).steps(execution_id, after, page.limit)
    views = [StepView.of(s, run.currency) for s in steps]
    return paginate(views, page.limit, lambda v: (v.key,))


@routes.get(
    "/executions/{execution_id}/steps/{key}",
    response_model=StepView,
    responses=errors((404, "No such execution in the caller's tenant, or no such step.")),
)
async def get_step(execution_id: UUID, key: StepKey, principal: Reader, uow: Uow) -> StepView:
    run = await run_of(uow, execution_id)
    step = found(
        await uow.steps.get(execution_id, key), f"no step {key!r} in execution {execution_id}"
    )
    return StepView.of(step, run.currency)


@routes.get(
    "/executions/{execution_id}/approvals",
    response_model=list[ApprovalView],
    responses=READ,
)
async def list_approvals(execution_id: UUID, principal: Reader, uow: Uow) -> list[ApprovalView]:
    """Every approval the run asked for, pending and decided, oldest first."""
    await run_of(uow, execution_id)
    rows = await uow.approvals.of(execution_id)
    return [ApprovalView.of(r) for r in rows]


def _after(page: CursorParams) -> tuple[datetime, UUID] | None:
    # `shaped` has checked the types: a hand-written cursor is a 400, never a SQL error
    return cast("tuple[datetime, UUID] | None", shaped(page, datetime, UUID))
