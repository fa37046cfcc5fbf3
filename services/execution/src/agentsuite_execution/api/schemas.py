"""Bodies and representations of execution's HTTP edge (not contracts: only the API's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentsuite_contracts.common import Money
from agentsuite_contracts.steps import Budget
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.handlers.consistency import MAX_LIMIT

Label = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[\w.\-/]+$")]
LabelValue = Annotated[str, StringConstraints(max_length=256)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


# a limit the engine's bigint columns hold with room to add what one call spends: the
# contract's Budget has no upper bound (narrowing it would break its compat rule), and a
# start budget of 2**63 was a 201 whose every engine claim then failed (int64 overflow)


class StartMoney(Money):
    amount_micros: int = Field(
        ge=0, le=MAX_LIMIT, description="Amount in millionths of the currency unit."
    )


class StartBudget(Budget):
    """The contract's Budget with the bounds the engine's columns hold."""

    max_cost: StartMoney | None = Field(default=None, description="Most money spent.")
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_LIMIT, description="Most LLM tokens.")
    max_duration_ms: int | None = Field(
        default=None, gt=0, le=MAX_LIMIT, description="Wall-clock limit."
    )


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- requests ------------------------------------------------------------------------------


class StartBody(Body):
    plan_id: UUID = Field(description="The plan to run (approved here).")
    plan_version: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,  # the column is an integer: a larger number was a 500
        description="Approved version to run; null: the latest approved.",
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        max_length=200,
        description="The run's inputs, checked against the plan's inputs schema.",
    )
    budget: StartBudget | None = Field(
        default=None, description="Limits for this run; null: the plan's own budget."
    )
    labels: dict[Label, LabelValue] = Field(
        default_factory=dict, max_length=50, description="Free labels to find runs by."
    )


class PauseBody(Body):
    reason: Reason | None = Field(default=None, description="Why, for whoever resumes it.")
    timers: Literal["count", "freeze"] = Field(
        default="count",
        description="`count`: waits and timeouts run on while paused; `freeze`: they are "
        "shifted by the paused time on resume.",
    )


class BudgetBody(Body):
    """The limits to set; a limit left out stays as it is. None may go below what the run
    has spent and holds for calls in flight."""

    max_cost: StartMoney | None = Field(default=None, description="Most money spent.")
    max_tokens: int | None = Field(default=None, gt=0, le=MAX_LIMIT, description="Most LLM tokens.")
    max_duration_ms: int | None = Field(
        default=None, gt=0, le=MAX_LIMIT, description="Wall-clock limit from the run's start."
    )


class CancelBody(Body):
    reason: Reason | None = Field(default=None, description="Why the run is cancelled.")


class RerunBody(Body):
    from_step: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = Field(
        default=None,
        description="Run this step and what depends on it again (null: the failed steps).",
    )


class Signal(Body):
    type: Literal["approval"] = Field(description="What the signal answers.")
    approval_id: UUID = Field(description="The approval request decided.")
    decision: Literal["approve", "reject"]
    comment: Reason | None = Field(default=None, description="Said with the decision.")
    data: dict[str, Any] = Field(
        default_factory=dict,
        max_length=200,
        description="Human input: an approved `approval` step's output carries it as `data`.",
    )


# --- representations -----------------------------------------------------------------------


def _money(micros: int, currency: str) -> Money:
    return Money(amount_micros=max(micros, 0), currency=currency)


class Reserved(BaseModel):
    tokens: int = Field(description="Tokens held by LLM calls in flight.")
    cost: Money = Field(description="Money held by LLM calls in flight.")


class Usage(BaseModel):
    tokens_used: int
    prompt_tokens: int
    completion_tokens: int
    cost: Money = Field(description="Money spent (settled LLM calls).")
    reserved: Reserved

    @classmethod
    def of(cls, run: Run) -> Usage:
        return cls(
            tokens_used=run.tokens_used,
            prompt_tokens=run.prompt_tokens,
            completion_tokens=run.completion_tokens,
            cost=_money(run.cost_used, run.currency),
            reserved=Reserved(
                tokens=run.tokens_reserved, cost=_money(run.cost_reserved, run.currency)
            ),
        )


class Parent(BaseModel):
    execution_id: UUID
    step: str | None = Field(description="The `subplan` step that started this run.")


class ExecutionView(BaseModel):
    execution_id: UUID
    plan_id: UUID
    plan_version: int
    status: str = Field(
        description="running | paused | cancelling | completed | failed | cancelled"
    )
    trigger: str
    schedule_id: UUID | None
    trigger_id: UUID | None = Field(
        default=None, description="The planning trigger whose delivery started the run."
    )
    delivery_id: str | None = Field(default=None, description="That delivery's id.")
    inputs: dict[str, Any]
    labels: dict[str, Any]
    budget: Budget | None = Field(description="The limits in force (null: unlimited).")
    usage: Usage
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    failed_step: str | None
    manifest: dict[str, Any] = Field(
        description="What the run really used: plan, tool and agent versions, models."
    )
    generation: int = Field(description="Bumped by every rerun.")
    version: int = Field(description="The ETag; `If-Match` names it.")
    created_by: UUID | None
    created_at: datetime
    started_at: datetime
    finished_at: datetime | None
    paused_at: datetime | None
    pause_reason: str | None
    pause_timers: str | None
    parent: Parent | None

    @classmethod
    def of(cls, run: Run) -> ExecutionView:
        parent = None
        if run.parent_execution_id is not None:
            parent = Parent(execution_id=run.parent_execution_id, step=run.parent_step)
        return cls(
            execution_id=run.execution_id,
            plan_id=run.plan_id,
            plan_version=run.plan_version,
            status=run.status,
            trigger=run.trigger,
            schedule_id=run.schedule_id,
            trigger_id=run.trigger_id,
            delivery_id=run.delivery_id,
            inputs=run.inputs,
            labels=run.labels,
            budget=run.limits,
            usage=Usage.of(run),
            outputs=run.outputs,
            error=run.error,
            failed_step=run.failed_step,
            manifest=run.manifest,
            generation=run.generation,
            version=run.version,
            created_by=run.created_by,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            paused_at=run.paused_at,
            pause_reason=run.pause_reason,
            pause_timers=run.pause_timers,
            parent=parent,
        )


class StepView(BaseModel):
    key: str = Field(description="Plan key; a map's item is `<key>[<index>]`.")
    kind: str
    state: str
    attempt: int
    failures: int
    output: Any
    error: dict[str, Any] | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    tokens: int
    cost: Money
    parent: str | None = Field(description="The container step that owns it.")
    generation: int
    checkpoint: list[str] | None = Field(
        description="Names recorded in the step's checkpoint (where a long step is); "
        "their values stay inside."
    )

    @classmethod
    def of(cls, step: Step, currency: str) -> StepView:
        return cls(
            key=step.key,
            kind=step.kind,
            state=step.state,
            attempt=step.attempt,
            failures=step.failures,
            output=step.output,
            error=step.error,
            queued_at=step.queued_at,
            started_at=step.started_at,
            finished_at=step.finished_at,
            tokens=step.tokens,
            cost=_money(step.cost, currency),
            parent=step.parent,
            generation=step.generation,
            checkpoint=None if step.checkpoint is None else sorted(step.checkpoint),
        )


class ApprovalView(BaseModel):
    approval_id: UUID
    key: str = Field(description="The step waiting on it.")
    prompt: str
    approvers: list[str] = Field(description="User ids or `role:<name>`.")
    state: str = Field(description="pending | granted | rejected | expired | cancelled")
    expires_at: datetime | None
    decided_by: UUID | None
    decided_at: datetime | None
    comment: str | None
    data: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> ApprovalView:
        return cls.model_validate({k: row[k] for k in cls.model_fields})


class LlmCallView(BaseModel):
    request_id: UUID
    model: str | None
    cached: bool
    state: str = Field(description="pending | answered | abandoned")
    tokens: int
    cost: Money
    created_at: datetime
    answered_at: datetime | None


class AttemptView(BaseModel):
    key: str
    kind: str | None
    parent: str | None
    attempt: int
    generation: int
    status: str = Field(description="running | succeeded | failed | lost | cancelled")
    worker: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None = Field(description="Null while the attempt runs.")
    tokens: int
    cost: Money
    error_code: str | None
    llm_calls: list[LlmCallView]


class Totals(BaseModel):
    attempts: int
    failed_attempts: int
    llm_calls: int
    cached_llm_calls: int
    usage: Usage
    duration_ms: int | None = Field(description="Start to finish (null while it runs).")


class TimelineView(BaseModel):
    execution_id: UUID
    status: str
    attempts: list[AttemptView] = Field(description="In the order they started.")
    truncated: bool = Field(description="More attempts exist than `limit` allowed.")
    totals: Totals


class LogEntry(BaseModel):
    seq: int = Field(description="The SSE event id; resume after it.")
    type: str = Field(description="An `execution.*` event type, or `log` for a step's line.")
    key: str | None = Field(description="The step, if the row is about one.")
    level: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> LogEntry:
        return cls.model_validate({k: row[k] for k in cls.model_fields})
