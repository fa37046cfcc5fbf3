"""Durable timers firing, and steps whose worker died (lease ran out): both found across
tenants, each handled in its own tenant's transaction with the run locked.

Several engines may find the same timer; deleting it is the claim (the loser deletes
nothing and does nothing). A lost lease is re-checked under the step's lock.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import ApprovalRejected, StepAwaitingApproval
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import budget, calls, ends, flow
from agentsuite_execution.engine.journal import record_step
from agentsuite_execution.repositories.timers import Timer


async def fire(deps: Deps, timer: Timer) -> None:
    async with deps.uow(timer.tenant_id) as uow:
        if await uow.timers.take(timer.timer_id) is None:
            return
        run = await uow.executions.get(timer.execution_id, lock=True)
        if run is None:
            await uow.commit()
            return
        if timer.kind == "budget":
            await budget.duration_exceeded(uow, run)
        elif timer.key is not None:
            step = await uow.steps.get(run.execution_id, timer.key, lock=True)
            if step is not None and (timer.attempt is None or step.attempt == timer.attempt):
                await _step_timer(deps, uow, run, step, timer)
        await ends.conclude(uow, run.execution_id)
        await uow.commit()


async def _step_timer(deps: Deps, uow: Any, run: Any, step: Any, timer: Timer) -> None:
    if timer.kind == "retry" and step.state == StepState.RETRYING:
        await flow.make_ready(uow, run, [step.key])
    elif timer.kind == "wait" and step.state == StepState.WAITING:
        await flow.succeed(uow, run, step, None)
    elif timer.kind == "timeout" and step.state in (StepState.WAITING, StepState.RUNNING):
        await calls.abandon(uow, run, step)
        error = ErrorInfo(code="timeout", message="the step ran past its timeout", retryable=True)
        await ends.fail(uow, run, step, error, lease_loss_limit=deps.settings.lease_loss_limit)
    elif timer.kind == "approval" and step.state == StepState.WAITING:
        approval_id = UUID(timer.payload["approval_id"])
        approval = await uow.approvals.get(approval_id, lock=True)
        if approval is None or approval["state"] != "pending":
            return
        await uow.approvals.decide(approval_id, state="expired")
        record_step(
            uow,
            step,
            ApprovalRejected(
                execution_id=run.execution_id,
                step=step.key,
                approval_id=approval_id,
                reason="the approval request expired",
            ),
        )
        error = ErrorInfo(code="approval_expired", message="nobody decided in time")
        await ends.fail(uow, run, step, error)
    elif timer.kind == "escalate" and step.state == StepState.WAITING:
        approval_id = UUID(timer.payload["approval_id"])
        approval = await uow.approvals.get(approval_id, lock=True)
        if approval is None or approval["state"] != "pending":
            return
        approvers = list(dict.fromkeys([*approval["approvers"], *timer.payload["to"]]))
        await uow.approvals.decide(approval_id, approvers=approvers, decided_at=None)
        record_step(
            uow,
            step,
            StepAwaitingApproval(
                execution_id=run.execution_id,
                step=step.key,
                approval_id=approval_id,
                prompt=approval["prompt"],
                approvers=approvers,
                expires_at=approval["expires_at"],
            ),
        )


async def lost(deps: Deps, tenant_id: UUID, execution_id: UUID, key: str, attempt: int) -> None:
    """A running step's lease ran out: its worker died. Retry it (see `ends.fail`)."""
    async with deps.uow(tenant_id) as uow:
        run = await uow.executions.get(execution_id, lock=True)
        step = await uow.steps.get(execution_id, key, lock=True)
        if run is None or step is None or step.state != StepState.RUNNING:
            return
        if step.attempt != attempt or not await uow.steps.lease_expired(execution_id, key):
            return
        error = ErrorInfo(
            code="lease_lost",
            message=f"the worker running attempt {attempt} stopped answering",
            retryable=True,
        )
        await ends.fail(
            uow, run, step, error, lost=True, lease_loss_limit=deps.settings.lease_loss_limit
        )
        await ends.conclude(uow, run.execution_id)
        await uow.commit()
