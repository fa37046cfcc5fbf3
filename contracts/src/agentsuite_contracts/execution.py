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
from agentsuite_contracts.envelope import Contract, Event
from agentsuite_contracts.marks import Open, Sensitive
from agentsuite_contracts.steps import Budget, StepKind


class Trigger(StrEnum):
    """What started an execution (open: new triggers may appear within v1)."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    EVENT = "event"


class BudgetLimit(StrEnum):
    """A budget dimension (open: new dimensions may appear within v1)."""

    COST = "cost"
    TOKENS = "tokens"
    DURATION = "duration_ms"


class ExecutionStarted(Event):
    """An execution of an approved plan version started."""

    type: Literal["execution.execution.started"] = Field(
        default="execution.execution.started", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    plan_id: UUID = Field(description="Plan being run.")
    plan_version: int = Field(ge=1, description="Approved version being run.")
    trigger: Open[Trigger] = Field(description="What started it; new triggers may appear.")
    schedule_id: UUID | None = Field(default=None, description="Schedule, when scheduled.")
    inputs: Sensitive[dict[str, Any]] = Field(default_factory=dict, description="Run inputs.")
    budget: Budget | None = Field(default=None, description="Limits in force.")
    step_count: int = Field(ge=0, description="Steps in the plan snapshot.")
    trigger_id: UUID | None = Field(
        default=None, description="The planning trigger, when a delivery started it."
    )
    delivery_id: str | None = Field(
        default=None, description="The trigger's delivery that started it."
    )


class ExecutionPaused(Event):
    """An execution was paused; running steps finish, no new step starts."""

    type: Literal["execution.execution.paused"] = Field(
        default="execution.execution.paused", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    reason: Sensitive[str | None] = Field(
        default=None, description="Why, e.g. `budget` or a user's note."
    )


class ExecutionResumed(Event):
    """A paused execution continues."""

    type: Literal["execution.execution.resumed"] = Field(
        default="execution.execution.resumed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    rerun_from: str | None = Field(
        default=None,
        description="Set when a failed or cancelled execution was rerun: the step it was "
        "rerun from (succeeded steps before it keep their outputs).",
    )
    generation: int | None = Field(
        default=None, ge=1, description="Runs of this execution so far: 1, then +1 per rerun."
    )


class ExecutionCancelled(Event):
    """An execution was stopped for good before finishing."""

    type: Literal["execution.execution.cancelled"] = Field(
        default="execution.execution.cancelled", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")


class ExecutionCompleted(Event):
    """Every step finished (succeeded, skipped or failed with `on_error: continue`)."""

    type: Literal["execution.execution.completed"] = Field(
        default="execution.execution.completed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    outputs: Sensitive[dict[str, Any]] = Field(default_factory=dict, description="Final outputs.")
    duration_ms: int = Field(ge=0, description="Wall-clock time from start.")
    usage: Usage | None = Field(default=None, description="LLM usage of the whole run.")


class ExecutionFailed(Event):
    """An execution stopped because a step failed for good (or it timed out)."""

    type: Literal["execution.execution.failed"] = Field(
        default="execution.execution.failed", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    error: ErrorInfo = Field(description="What went wrong.")
    step: str | None = Field(default=None, description="Key of the step that failed, if any.")
    duration_ms: int = Field(ge=0, description="Wall-clock time from start.")
    usage: Usage | None = Field(default=None, description="LLM usage of the whole run.")


class StepStarted(Event):
    """An attempt of a step started."""

    type: Literal["execution.step.started"] = Field(
        default="execution.step.started", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    kind: Open[StepKind] = Field(description="What the step does; new kinds may appear.")
    attempt: int = Field(ge=1, description="Attempt number, from 1.")


class ToolCallsRan(Contract):
    """A catalog tool version an agent step's calls ran, and how many calls ran it."""

    tool: str = Field(description="The tool's name.")
    tool_id: UUID = Field(description="The catalog tool.")
    tool_version_id: UUID = Field(description="Its version that ran.")
    tool_version: str = Field(description="That version's number.")
    calls: int = Field(ge=1, description="Calls of this attempt that ran this version.")


class StepSucceeded(Event):
    """A step finished successfully."""

    type: Literal["execution.step.succeeded"] = Field(
        default="execution.step.succeeded", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    attempt: int = Field(ge=1, description="The attempt that succeeded.")
    output: Sensitive[Any] = Field(default=None, description="Step output (any JSON).")
    duration_ms: int = Field(ge=0, description="Duration of the attempt.")
    usage: Usage | None = Field(default=None, description="LLM usage, for `llm` steps.")
    tool_id: UUID | None = Field(
        default=None, description="The catalog tool that ran (tool steps; null: a builtin)."
    )
    tool_version_id: UUID | None = Field(default=None, description="Its version that ran.")
    tool_version: str | None = Field(default=None, description="That version's number.")
    tool_calls: list[ToolCallsRan] = Field(
        default_factory=list,
        description="An agent step's catalog tool versions its calls ran (its tools are "
        "several: `tool_id` stays null), with how many calls ran each.",
    )


class StepFailed(Event):
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
    tool_id: UUID | None = Field(
        default=None, description="The catalog tool that ran (tool steps; null: a builtin)."
    )
    tool_version_id: UUID | None = Field(default=None, description="Its version that ran.")
    tool_version: str | None = Field(default=None, description="That version's number.")
    tool_calls: list[ToolCallsRan] = Field(
        default_factory=list,
        description="An agent step's catalog tool versions its calls ran (its tools are "
        "several: `tool_id` stays null), with how many calls ran each.",
    )


class StepRetrying(Event):
    """A failed step will be tried again after a delay."""

    type: Literal["execution.step.retrying"] = Field(
        default="execution.step.retrying", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    next_attempt: int = Field(ge=2, description="Number of the coming attempt.")
    delay_ms: int = Field(ge=0, description="Back-off before it starts.")
    error: ErrorInfo = Field(description="Why the previous attempt failed.")


class StepSkipped(Event):
    """A step will not run (a condition excluded it, or a dependency failed softly)."""

    type: Literal["execution.step.skipped"] = Field(
        default="execution.step.skipped", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    reason: str = Field(description="Why it was skipped.")


class StepAwaitingApproval(Event):
    """An `approval` step (or a tool needing approval) waits for a decision."""

    type: Literal["execution.step.awaiting_approval"] = Field(
        default="execution.step.awaiting_approval", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="Id to decide on via the signals API.")
    prompt: Sensitive[str] = Field(description="What the approver is asked.")
    approvers: list[str] = Field(description="User ids or `role:<name>` who may decide.")
    expires_at: datetime | None = Field(default=None, description="Auto-reject time, if any.")


class ApprovalGranted(Event):
    """An approver said yes; the step succeeds and dependants may run."""

    type: Literal["execution.approval.granted"] = Field(
        default="execution.approval.granted", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="The approval request.")
    decided_by: UUID = Field(description="The approving user.")
    comment: Sensitive[str | None] = Field(default=None, description="Approver's note.")


class ApprovalRejected(Event):
    """An approver said no (or the request expired); the step fails."""

    type: Literal["execution.approval.rejected"] = Field(
        default="execution.approval.rejected", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="Step key in the plan.")
    approval_id: UUID = Field(description="The approval request.")
    decided_by: UUID | None = Field(default=None, description="The user; null when expired.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")


class BudgetWarning(Event):
    """An execution used its budget's warning share of a limit; it goes on."""

    type: Literal["execution.budget.warning"] = Field(
        default="execution.budget.warning", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    limit: Open[BudgetLimit] = Field(description="Which dimension; new ones may appear.")
    allowed: int = Field(
        ge=0, description="The limit: micro-units of `currency`, tokens or milliseconds."
    )
    used: int = Field(ge=0, description="Consumption so far, in the same unit.")
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code when `limit` is cost."
    )
    threshold_percent: int = Field(
        ge=1, le=100, description="The budget's warning threshold that was crossed."
    )


class BudgetExceeded(Event):
    """An execution hit a budget limit; `action` says what execution did about it."""

    type: Literal["execution.budget.exceeded"] = Field(
        default="execution.budget.exceeded", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    limit: Open[BudgetLimit] = Field(description="Which dimension ran out; new ones may appear.")
    allowed: int = Field(
        ge=0, description="The limit: micro-units of `currency`, tokens or milliseconds."
    )
    used: int = Field(
        ge=0, description="Consumption when detected (what is spent), in the same unit."
    )
    held: int | None = Field(
        default=None,
        ge=0,
        description="What calls in flight held of the limit beside `used` (upper bounds, "
        "not consumption); absent for limits that nothing holds (duration).",
    )
    currency: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code when `limit` is cost."
    )
    action: Literal["paused", "failed", "warned"] = Field(
        description="What execution did, following the budget's `on_limit`."
    )


class BudgetRaised(Event):
    """A run's budget was changed (raised) by a person or service, e.g. to let a run that
    paused for its budget go on when resumed."""

    type: Literal["execution.budget.raised"] = Field(
        default="execution.budget.raised", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    budget: Budget = Field(description="The limits in force from now on.")
    previous: Budget | None = Field(default=None, description="The limits before (null: none).")
    raised_by: str | None = Field(default=None, description="Who raised it (a principal id).")


class LlmUsageOverrun(Event):
    """A model call used more than its run reserved for it: the provider billed past the
    `max_tokens` it was sent or past the input bound. The usage counts all the same."""

    type: Literal["execution.llm.overrun"] = Field(
        default="execution.llm.overrun", description="Message type."
    )
    execution_id: UUID = Field(description="The execution.")
    step: str = Field(description="The step that made the call.")
    request_id: UUID = Field(description="The `llm.requests.v1` request.")
    reserved_tokens: int = Field(ge=0, description="Tokens the run reserved for the call.")
    used_tokens: int = Field(ge=0, description="Tokens the answer's usage reports.")
    reserved_cost: int = Field(ge=0, description="Micro-units reserved for the call.")
    used_cost: int = Field(ge=0, description="Micro-units the answer's usage reports.")
    model: str | None = Field(default=None, description="The model that answered.")
