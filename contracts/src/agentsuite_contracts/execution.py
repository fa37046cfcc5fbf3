"""execution v1 payloads: one execution of an approved plan, its steps, approvals, budget.

Every payload carries `execution_id`, the key of `execution.executions.v1`, so all events
of one execution stay in order on one partition.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import ErrorInfo, Usage
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.planning import Budget, StepKind


class Trigger(StrEnum):
    """What started an execution."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    EVENT = "event"


class BudgetLimit(StrEnum):
    """Which budget dimension ran out."""

    COST = "cost_usd"
    TOKENS = "tokens"
    DURATION = "duration_ms"


class ExecutionStarted(Payload):
    """An execution of an approved plan version started."""

    type: Literal["execution.execution.started"] = Field(
        default="execution.execution.started", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    plan_id: UUID = Field(description="Plan being run.")
    plan_version: int = Field(ge=1, description="Approved version being run.")
    trigger: Trigger = Field(description="What started it.")
    schedule_id: UUID | None = Field(default=None, description="Schedule, when scheduled.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Run inputs.")
    budget: Budget | None = Field(default=None, description="Limits in force.")
    step_count: int = Field(ge=0, description="Steps in the plan snapshot.")


class ExecutionPaused(Payload):
    """An execution was paused; running steps finish, no new step starts."""

    type: Literal["execution.execution.paused"] = Field(
        default="execution.execution.paused", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    reason: str | None = Field(default=None, description="Why, e.g. `budget` or a user's note.")


class ExecutionResumed(Payload):
    """A paused execution continues."""

    type: Literal["execution.execution.resumed"] = Field(
        default="execution.execution.resumed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")


class ExecutionCancelled(Payload):
    """An execution was stopped for good before finishing."""

    type: Literal["execution.execution.cancelled"] = Field(
        default="execution.execution.cancelled", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    reason: str | None = Field(default=None, description="Why.")


class ExecutionCompleted(Payload):
    """Every step finished (succeeded, skipped or failed with `on_error: continue`)."""

    type: Literal["execution.execution.completed"] = Field(
        default="execution.execution.completed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    outputs: dict[str, Any] = Field(default_factory=dict, description="Final outputs.")
    duration_ms: int = Field(ge=0, description="Wall-clock time from start.")
    usage: Usage | None = Field(default=None, description="LLM usage of the whole run.")


class ExecutionFailed(Payload):
    """An execution stopped because a step failed for good (or it timed out)."""

    type: Literal["execution.execution.failed"] = Field(
        default="execution.execution.failed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    error: ErrorInfo = Field(description="What went wrong.")
    step: str | None = Field(default=None, description="Key of the step that failed, if any.")
    duration_ms: int = Field(ge=0, description="Wall-clock time from start.")
    usage: Usage | None = Field(default=None, description="LLM usage of the whole run.")


class StepStarted(Payload):
    """An attempt of a step started."""

    type: Literal["execution.step.started"] = Field(
        default="execution.step.started", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    kind: StepKind = Field(description="What the step does.")
    attempt: int = Field(ge=1, description="Attempt number, from 1.")


class StepSucceeded(Payload):
    """A step finished successfully."""

    type: Literal["execution.step.succeeded"] = Field(
        default="execution.step.succeeded", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    attempt: int = Field(ge=1, description="The attempt that succeeded.")
    output: Any = Field(default=None, description="Step output (any JSON).")
    duration_ms: int = Field(ge=0, description="Duration of the attempt.")
    usage: Usage | None = Field(default=None, description="LLM usage, for `llm` steps.")


class StepFailed(Payload):
    """A step attempt failed; `final` says whether retries are exhausted."""

    type: Literal["execution.step.failed"] = Field(
        default="execution.step.failed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    attempt: int = Field(ge=1, description="The attempt that failed.")
    error: ErrorInfo = Field(description="What went wrong.")
    final: bool = Field(description="True when no retry follows.")
    duration_ms: int = Field(ge=0, description="Duration of the attempt.")


class StepRetrying(Payload):
    """A failed step will be tried again after a delay."""

    type: Literal["execution.step.retrying"] = Field(
        default="execution.step.retrying", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    next_attempt: int = Field(ge=2, description="Number of the coming attempt.")
    delay_ms: int = Field(ge=0, description="Back-off before it starts.")
    error: ErrorInfo = Field(description="Why the previous attempt failed.")


class StepSkipped(Payload):
    """A step will not run (a condition excluded it, or a dependency failed softly)."""

    type: Literal["execution.step.skipped"] = Field(
        default="execution.step.skipped", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    reason: str = Field(description="Why it was skipped.")


class StepAwaitingApproval(Payload):
    """A `human_approval` step (or a tool needing approval) waits for a decision."""

    type: Literal["execution.step.awaiting_approval"] = Field(
        default="execution.step.awaiting_approval", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="Id to decide on via the signals API.")
    prompt: str = Field(description="What the approver is asked.")
    approvers: list[str] = Field(description="User ids or `role:<name>` who may decide.")
    expires_at: datetime | None = Field(default=None, description="Auto-reject time, if any.")


class ApprovalGranted(Payload):
    """An approver said yes; the step succeeds and dependants may run."""

    type: Literal["execution.approval.granted"] = Field(
        default="execution.approval.granted", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="The approval request.")
    decided_by: UUID = Field(description="The approving user.")
    comment: str | None = Field(default=None, description="Approver's note.")


class ApprovalRejected(Payload):
    """An approver said no (or the request expired); the step fails."""

    type: Literal["execution.approval.rejected"] = Field(
        default="execution.approval.rejected", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="The approval request.")
    decided_by: UUID | None = Field(default=None, description="The user; null when expired.")
    reason: str | None = Field(default=None, description="Why.")


class BudgetExceeded(Payload):
    """An execution hit a budget limit and was stopped or paused."""

    type: Literal["execution.budget.exceeded"] = Field(
        default="execution.budget.exceeded", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    limit: BudgetLimit = Field(description="Which dimension ran out.")
    allowed: float = Field(ge=0, description="The limit, in the dimension's unit.")
    used: float = Field(ge=0, description="Consumption when detected.")
    action: Literal["paused", "failed"] = Field(description="What execution did about it.")
