"""Commands on a run that exists: pause, resume, cancel, rerun, and signals (a human's
decision on an approval, with the data it sends back)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from uuid import UUID

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import ApprovalGranted, ApprovalRejected, BudgetRaised
from agentsuite_contracts.steps import StepKind
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain import states
from agentsuite_execution.domain.budgets import BudgetChange, changed
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import ends, flow, runs
from agentsuite_execution.engine.journal import record, record_step
from agentsuite_execution.uow import ExecutionUow


@dataclass(frozen=True)
class Pause:
    execution_id: UUID
    reason: str | None = None
    timers: Literal["count", "freeze"] = "count"
    # If-Match's version: the command applies to that version of the run only
    version: int | None = None


@dataclass(frozen=True)
class Resume:
    execution_id: UUID
    version: int | None = None


@dataclass(frozen=True)
class Cancel:
    execution_id: UUID
    reason: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class ChangeBudget:
    execution_id: UUID
    change: BudgetChange
    by: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Rerun:
    execution_id: UUID
    from_step: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class Decision:
    """A human's answer to an approval request of a run."""

    execution_id: UUID
    approval_id: UUID
    approve: bool
    decided_by: UUID
    roles: frozenset[str] = frozenset()
    comment: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


async def locked(uow: ExecutionUow, execution_id: UUID, version: int | None = None) -> Run:
    """The run, locked; `not_found` when it is not this tenant's, `precondition` when its
    version is not `version` (If-Match): checked under the lock, so no other command
    changes the version between the check and the write."""
    run = await uow.executions.get(execution_id, lock=True)
    if run is None:
        raise RunError("not_found", f"no execution {execution_id}")
    if version is not None and run.version != version:
        raise RunError("precondition", f"the execution is at version {run.version}, not {version}")
    return run


async def pause(command: Pause, uow: ExecutionUow, deps: Deps) -> Run:
    run = await locked(uow, command.execution_id, command.version)
    return await runs.pause(uow, run, reason=command.reason, timers=command.timers)


async def resume(command: Resume, uow: ExecutionUow, deps: Deps) -> Run:
    run = await locked(uow, command.execution_id, command.version)
    return await runs.resume(uow, run)


async def cancel(command: Cancel, uow: ExecutionUow, deps: Deps) -> Run:
    run = await locked(uow, command.execution_id, command.version)
    run = await ends.cancel(uow, run, reason=command.reason)
    return await ends.conclude(uow, run.execution_id) or run


async def change_budget(command: ChangeBudget, uow: ExecutionUow, deps: Deps) -> Run:
    """Set the run's budget limits that the change names (`execution.budget.raised`). The
    changed dimensions may be warned about and exceeded again; a paused run stays paused
    until it is resumed."""
    execution_id, change = command.execution_id, command.change
    run = await locked(uow, execution_id, command.version)
    budget, touched = changed(run, change, flow.elapsed_ms(run.started_at))
    previous = run.limits
    updated = await uow.executions.set(
        execution_id,
        budget=budget.model_dump(mode="json"),
        exceeded=[d for d in run.exceeded if d not in touched],
        warned=[d for d in run.warned if d not in touched],
    )
    if change.max_duration_ms is not None and run.started_at is not None:
        # the wall-clock timer moves with the limit
        await uow.timers.cancel(execution_id, kinds=["budget"])
        due = run.started_at + timedelta(milliseconds=change.max_duration_ms)
        await uow.timers.add(execution_id, "budget", due)
    record(
        uow,
        run.tenant_id,
        execution_id,
        BudgetRaised(
            execution_id=execution_id, budget=budget, previous=previous, raised_by=command.by
        ),
    )
    return updated


async def rerun(command: Rerun, uow: ExecutionUow, deps: Deps) -> Run:
    run = await locked(uow, command.execution_id, command.version)
    return await runs.rerun(uow, run, from_step=command.from_step)


async def decide(decision: Decision, uow: ExecutionUow, deps: Deps) -> Run:
    """Grant or reject a pending approval. Only a listed approver (their user id, or
    `role:<name>` of a role they hold) may; a second decision is a conflict."""
    execution_id = decision.execution_id
    run = await locked(uow, execution_id)
    states.check_signal(run.status)
    approval = await uow.approvals.get(decision.approval_id, lock=True)
    if approval is None or approval["execution_id"] != execution_id:
        raise RunError("not_found", f"no approval {decision.approval_id} in this execution")
    if approval["state"] != "pending":
        raise RunError("conflict", f"the approval is already {approval['state']}")
    allowed = set(approval["approvers"])
    # roles from identity's events (tokens carry none), and any a token does carry
    roles = await uow.roles.names_of(decision.decided_by) | set(decision.roles)
    mine = {str(decision.decided_by)} | {f"role:{r}" for r in roles}
    if not allowed & mine:
        raise RunError(
            "forbidden",
            "you are not among this approval's approvers: " + ", ".join(sorted(allowed)),
        )
    step = await uow.steps.get(execution_id, approval["key"], lock=True)
    assert step is not None
    await uow.approvals.decide(
        decision.approval_id,
        state="granted" if decision.approve else "rejected",
        decided_by=decision.decided_by,
        comment=decision.comment,
        data=decision.data,
    )
    await uow.timers.cancel(execution_id, key=step.key, kinds=["approval", "escalate"])
    if decision.approve:
        record_step(
            uow,
            step,
            ApprovalGranted(
                execution_id=execution_id,
                step=step.key,
                approval_id=decision.approval_id,
                decided_by=decision.decided_by,
                comment=decision.comment,
            ),
        )
    else:
        record_step(
            uow,
            step,
            ApprovalRejected(
                execution_id=execution_id,
                step=step.key,
                approval_id=decision.approval_id,
                decided_by=decision.decided_by,
                reason=decision.comment,
            ),
        )
    if step.state == StepState.WAITING:
        await _decided(uow, run, step, decision)
    return await ends.conclude(uow, execution_id) or run


async def _decided(uow: ExecutionUow, run: Run, step: Any, decision: Decision) -> None:
    if not decision.approve:
        error = ErrorInfo(
            code="approval_rejected",
            message=decision.comment or "the approver said no",
            details={"approval_id": str(decision.approval_id)},
        )
        await ends.fail(uow, run, step, error)
        return
    if step.kind == StepKind.TOOL:
        # a tool that needs approval runs now: its next claim sees the approval
        await uow.steps.set(
            run.execution_id,
            step.key,
            checkpoint={**(step.checkpoint or {}), "approved": str(decision.approval_id)},
        )
        await flow.make_ready(uow, run, [step.key])
        return
    output = {
        "approved": True,
        "approval_id": str(decision.approval_id),
        "decided_by": str(decision.decided_by),
        "comment": decision.comment,
        "data": decision.data,
    }
    await flow.succeed(uow, run, step, output)
