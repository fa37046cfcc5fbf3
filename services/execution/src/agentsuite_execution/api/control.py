"""Commands on a run: pause, resume, cancel, rerun (`executions:cancel`), and signals, a
human's decision on an approval (`approvals:decide`). Each answers with the execution."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response

from agentsuite_execution.api.edge import bounded, expected, roles_of, shown, unit, user_id
from agentsuite_execution.api.errors import COMMAND, INVALID, TOO_LARGE, errors
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
from agentsuite_execution.handlers import control
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.problems import ProblemError

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The execution's ETag: the command applies only to that version (412).",
    ),
]


def router(deps: Deps) -> APIRouter:
    routes = APIRouter(
        prefix="/v1",
        tags=["executions"],
        route_class=bounded(deps.settings.max_request_bytes),
    )
    controlling = require("executions:cancel")
    starting = require("executions:start")
    deciding = require("approvals:decide")

    @routes.post(
        "/executions/{execution_id}/pause", response_model=ExecutionView, responses=COMMAND
    )
    async def pause_execution(
        execution_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(controlling)],
        if_match: IfMatch = None,
        body: PauseBody | None = None,
    ) -> ExecutionView:
        """A running execution holds its ready steps; running ones finish their attempt."""
        body = body or PauseBody()
        async with unit(deps, principal) as uow:
            command = control.Pause(
                execution_id, body.reason, body.timers, version=expected(if_match)
            )
            run = await control.pause(command, uow, deps)
            await uow.commit()
        return shown(response, run)

    @routes.post(
        "/executions/{execution_id}/resume", response_model=ExecutionView, responses=COMMAND
    )
    async def resume_execution(
        execution_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(controlling)],
        if_match: IfMatch = None,
    ) -> ExecutionView:
        async with unit(deps, principal) as uow:
            command = control.Resume(execution_id, version=expected(if_match))
            run = await control.resume(command, uow, deps)
            await uow.commit()
        return shown(response, run)

    @routes.post(
        "/executions/{execution_id}/cancel", response_model=ExecutionView, responses=COMMAND
    )
    async def cancel_execution(
        execution_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(controlling)],
        if_match: IfMatch = None,
        body: CancelBody | None = None,
    ) -> ExecutionView:
        """Open steps are cancelled; the compensations of finished ones run, then the
        execution is `cancelled` (`cancelling` meanwhile)."""
        body = body or CancelBody()
        async with unit(deps, principal) as uow:
            command = control.Cancel(execution_id, body.reason, version=expected(if_match))
            run = await control.cancel(command, uow, deps)
            await uow.commit()
        return shown(response, run)

    @routes.post(
        "/executions/{execution_id}/budget", response_model=ExecutionView, responses=COMMAND
    )
    async def change_budget(
        execution_id: UUID,
        body: BudgetBody,
        response: Response,
        principal: Annotated[Principal, Depends(starting)],
        if_match: IfMatch = None,
    ) -> ExecutionView:
        """Set the limits the body names (raise them, typically: a run paused for its
        budget goes on when resumed). A limit below what the run has spent and holds is
        refused (409), as is a run that has ended."""
        change = BudgetChange(
            max_cost=body.max_cost,
            max_tokens=body.max_tokens,
            max_duration_ms=body.max_duration_ms,
        )
        command = control.ChangeBudget(
            execution_id, change, by=principal.subject, version=expected(if_match)
        )
        async with unit(deps, principal) as uow:
            run = await control.change_budget(command, uow, deps)
            await uow.commit()
        return shown(response, run)

    @routes.post(
        "/executions/{execution_id}/rerun", response_model=ExecutionView, responses=COMMAND
    )
    async def rerun_execution(
        execution_id: UUID,
        response: Response,
        principal: Annotated[Principal, Depends(controlling)],
        if_match: IfMatch = None,
        body: RerunBody | None = None,
    ) -> ExecutionView:
        """A failed or cancelled execution runs again: its failed steps (or `from_step`
        and what depends on it) in a new generation; what succeeded is kept."""
        body = body or RerunBody()
        async with unit(deps, principal) as uow:
            command = control.Rerun(execution_id, body.from_step, version=expected(if_match))
            run = await control.rerun(command, uow, deps)
            await uow.commit()
        return shown(response, run)

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
        principal: Annotated[Principal, Depends(deciding)],
    ) -> ExecutionView:
        """Decide a pending approval as one of its approvers (a user id, or `role:<name>`
        of a role the user holds). Approved, the step's output carries `data`."""
        decider = user_id(principal)
        if decider is None:
            raise ProblemError(
                403, "Only a user decides approvals.", code="forbidden", kind=principal.kind
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
        async with unit(deps, principal) as uow:
            run = await control.decide(decision, uow, deps)
            await uow.commit()
        return shown(response, run)

    return routes
