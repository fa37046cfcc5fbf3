"""Commands on a run: pause, resume, cancel, rerun (`executions:cancel`), and signals, a
human's decision on an approval (`approvals:decide`). Each answers with the execution."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Response

from agentsuite_execution.api.edge import (
    COMMAND,
    AppDeps,
    Bounded,
    Controller,
    Decider,
    IfMatch,
    Starter,
    Uow,
    roles_of,
    shown,
)
from agentsuite_execution.api.schemas import (
    BudgetBody,
    CancelBody,
    ExecutionView,
    PauseBody,
    RerunBody,
    Signal,
)
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.budgets import BudgetChange
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.handlers import control
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.edge import INVALID, TOO_LARGE, errors, expected_version, user_id_of
from agentsuite_kit.errors import Forbidden

routes = APIRouter(prefix="/v1", tags=["executions"], route_class=Bounded)

C = TypeVar("C")


async def applied(
    handle: Callable[[C, ExecutionUow, Deps], Awaitable[Run]],
    command: C,
    uow: ExecutionUow,
    deps: Deps,
    response: Response,
) -> ExecutionView:
    """`command` handled and committed; the run it leaves, with its new ETag."""
    run = await handle(command, uow, deps)
    await uow.commit()
    return shown(response, run)


@dataclass
class OnRun:
    """What a command on a run takes besides its caller and its body: the run, the unit
    of work, and the If-Match the command applies to. A dependency declared after the
    route's principal, so the caller is still authenticated first."""

    execution_id: UUID
    response: Response
    uow: Uow
    deps: AppDeps
    if_match: IfMatch = None

    @property
    def version(self) -> int | None:
        # read in the route, after the body's own errors (see `IfMatch`)
        return expected_version(self.if_match)

    async def applied(
        self, handle: Callable[[C, ExecutionUow, Deps], Awaitable[Run]], command: C
    ) -> ExecutionView:
        return await applied(handle, command, self.uow, self.deps, self.response)


Target = Annotated[OnRun, Depends()]


@routes.post("/executions/{execution_id}/pause", response_model=ExecutionView, responses=COMMAND)
async def pause_execution(
    principal: Controller, run: Target, body: PauseBody | None = None
) -> ExecutionView:
    """A running execution holds its ready steps; running ones finish their attempt."""
    body = body or PauseBody()
    command = control.Pause(run.execution_id, body.reason, body.timers, version=run.version)
    return await run.applied(control.pause, command)


@routes.post("/executions/{execution_id}/resume", response_model=ExecutionView, responses=COMMAND)
async def resume_execution(principal: Controller, run: Target) -> ExecutionView:
    command = control.Resume(run.execution_id, version=run.version)
    return await run.applied(control.resume, command)


@routes.post("/executions/{execution_id}/cancel", response_model=ExecutionView, responses=COMMAND)
async def cancel_execution(
    principal: Controller, run: Target, body: CancelBody | None = None
) -> ExecutionView:
    """Open steps are cancelled; the compensations of finished ones run, then the
    execution is `cancelled` (`cancelling` meanwhile)."""
    body = body or CancelBody()
    command = control.Cancel(run.execution_id, body.reason, version=run.version)
    return await run.applied(control.cancel, command)


@routes.post("/executions/{execution_id}/budget", response_model=ExecutionView, responses=COMMAND)
async def change_budget(body: BudgetBody, principal: Starter, run: Target) -> ExecutionView:
    """Set the limits the body names (raise them, typically: a run paused for its
    budget goes on when resumed). A limit below what the run has spent and holds is
    refused (409), as is a run that has ended."""
    change = BudgetChange(
        max_cost=body.max_cost,
        max_tokens=body.max_tokens,
        max_duration_ms=body.max_duration_ms,
    )
    by = principal.subject
    command = control.ChangeBudget(run.execution_id, change, by=by, version=run.version)
    return await run.applied(control.change_budget, command)


@routes.post("/executions/{execution_id}/rerun", response_model=ExecutionView, responses=COMMAND)
async def rerun_execution(
    principal: Controller, run: Target, body: RerunBody | None = None
) -> ExecutionView:
    """A failed or cancelled execution runs again: its failed steps (or `from_step`
    and what depends on it) in a new generation; what succeeded is kept."""
    body = body or RerunBody()
    command = control.Rerun(run.execution_id, body.from_step, version=run.version)
    return await run.applied(control.rerun, command)


@routes.post(
    "/executions/{execution_id}/signals",
    response_model=ExecutionView,
    responses=errors(
        (403, "Not among the approval's approvers, or not a user."),
        (404, "No such execution in the caller's tenant, or no such approval in it."),
        (409, "The approval is decided already, or the run takes no more signals."),
        TOO_LARGE,
        INVALID,
    ),
)
async def signal_execution(
    execution_id: UUID,
    body: Signal,
    response: Response,
    principal: Decider,
    uow: Uow,
    deps: AppDeps,
) -> ExecutionView:
    """Decide a pending approval as one of its approvers (a user id, or `role:<name>`
    of a role the user holds). Approved, the step's output carries `data`."""
    decider = user_id_of(principal)
    if decider is None:
        # the problem says what the caller is: an API key or a service, never a person
        raise Forbidden(
            "forbidden", "Only a user decides approvals.", extensions={"kind": principal.kind}
        )
    decision = control.Decision(
        execution_id=execution_id,
        approval_id=body.approval_id,
        approve=body.decision == "approve",
        decided_by=decider,
        roles=roles_of(principal),
        comment=body.comment,
        data=body.data,
    )
    return await applied(control.decide, decision, uow, deps, response)
