"""planning v1 payloads: plans (phases -> steps DAG) through approval, and schedules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject
from agentsuite_contracts.envelope import Contract, Payload


class StepKind(StrEnum):
    """What a plan step does."""

    TOOL = "tool"
    LLM = "llm"
    HUMAN_APPROVAL = "human_approval"
    CONDITION = "condition"
    WAIT = "wait"


class OnError(StrEnum):
    """What a failed step (after its retries) does to the execution."""

    FAIL = "fail"
    CONTINUE = "continue"


class PlanStatus(StrEnum):
    """Lifecycle of a plan."""

    DRAFT = "draft"
    VALID = "valid"
    INVALID = "invalid"
    APPROVED = "approved"
    ARCHIVED = "archived"


class RetryPolicy(Contract):
    """How often and how patiently a step is retried."""

    max_attempts: int = Field(default=1, ge=1, description="Attempts including the first.")
    initial_delay_ms: int = Field(default=1000, ge=0, description="Delay before the 1st retry.")
    backoff: float = Field(default=2.0, ge=1, description="Delay multiplier per retry.")
    max_delay_ms: int = Field(default=60_000, ge=0, description="Upper bound of one delay.")


class ToolStep(Contract):
    """A `tool` step's call: which tool version, with what input."""

    tool: str = Field(description="Tool name in the catalog.")
    version: str | None = Field(default=None, description="Pinned version; null = latest.")
    input: JsonObject = Field(
        default_factory=dict,
        description="Input; strings may reference `${steps.<key>.output...}` or `${inputs...}`.",
    )


class LlmStep(Contract):
    """An `llm` step's call through llm-gateway."""

    prompt: str = Field(description="User prompt; may reference outputs like tool input.")
    system: str | None = Field(default=None, description="System prompt.")
    model: str | None = Field(default=None, description="Model; null = gateway routing.")
    tools: list[str] = Field(default_factory=list, description="Tool names the model may call.")
    output_schema: JsonObject | None = Field(
        default=None, description="JSON Schema the answer must match, if structured."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temp.")
    max_tokens: int | None = Field(default=None, gt=0, description="Output token cap.")


class Approval(Contract):
    """A `human_approval` step: who must approve what."""

    prompt: str = Field(description="What the approver is asked.")
    approvers: list[str] = Field(
        description="Who may decide: user ids or `role:<name>` references."
    )
    timeout_ms: int | None = Field(
        default=None, gt=0, description="Auto-reject after this long; null = wait forever."
    )


class Condition(Contract):
    """A `condition` step: picks which dependants run."""

    expression: str = Field(description="Boolean expression over inputs and step outputs.")
    if_true: list[str] = Field(default_factory=list, description="Step keys run when true.")
    if_false: list[str] = Field(default_factory=list, description="Step keys run when false.")


class Wait(Contract):
    """A `wait` step: pause for a duration or until a time."""

    duration_ms: int | None = Field(default=None, gt=0, description="How long to wait.")
    until: datetime | None = Field(default=None, description="Wait until this instant.")


class PlanStep(Contract):
    """One node of the plan's DAG; exactly the block matching `kind` is set."""

    key: str = Field(description="Unique key in the plan, e.g. `fetch-leads`.")
    name: str = Field(description="Display name.")
    kind: StepKind = Field(description="What the step does.")
    depends_on: list[str] = Field(
        default_factory=list, description="Keys of steps that must finish first."
    )
    tool: ToolStep | None = Field(default=None, description="Set when kind is `tool`.")
    llm: LlmStep | None = Field(default=None, description="Set when kind is `llm`.")
    approval: Approval | None = Field(
        default=None, description="Set when kind is `human_approval`."
    )
    condition: Condition | None = Field(default=None, description="Set when kind is `condition`.")
    wait: Wait | None = Field(default=None, description="Set when kind is `wait`.")
    retry: RetryPolicy = Field(default_factory=RetryPolicy, description="Retry policy.")
    timeout_ms: int | None = Field(default=None, gt=0, description="Per-attempt time limit.")
    on_error: OnError = Field(default=OnError.FAIL, description="Effect of final failure.")


class PlanPhase(Contract):
    """An ordered group of steps; dependencies may cross phases."""

    key: str = Field(description="Unique key in the plan.")
    name: str = Field(description="Display name.")
    description: str = Field(default="", description="What the phase achieves.")
    steps: list[PlanStep] = Field(description="Its steps.")


class Budget(Contract):
    """Limits an execution of the plan must stay within."""

    max_cost_usd: float | None = Field(default=None, gt=0, description="Most dollars spent.")
    max_tokens: int | None = Field(default=None, gt=0, description="Most LLM tokens.")
    max_duration_ms: int | None = Field(default=None, gt=0, description="Wall-clock limit.")


class PlanSnapshot(Contract):
    """A complete plan version: what execution runs."""

    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Plan version, bumped on every edit.")
    name: str = Field(description="Display name.")
    goal: str = Field(description="What the plan achieves.")
    inputs_schema: JsonObject = Field(
        default_factory=dict, description="JSON Schema of the inputs a run takes."
    )
    phases: list[PlanPhase] = Field(description="Phases in order.")
    budget: Budget | None = Field(default=None, description="Limits per run.")


class PlanSource(Contract):
    """Where a plan came from."""

    kind: Literal["discovery", "template", "manual"] = Field(description="Origin.")
    id: str | None = Field(
        default=None, description="Discovery session id or template key, when not manual."
    )


class PlanDrafted(Payload):
    """A plan was drafted (from requirements, a template or by hand)."""

    type: Literal["planning.plan.drafted"] = Field(
        default="planning.plan.drafted", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    source: PlanSource = Field(description="Where it came from.")
    plan: PlanSnapshot = Field(description="The first version.")


class PlanUpdated(Payload):
    """A plan was edited; a new version exists and any validation is void."""

    type: Literal["planning.plan.updated"] = Field(
        default="planning.plan.updated", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="New version.")
    summary: str = Field(default="", description="What changed, in words.")
    plan: PlanSnapshot = Field(description="The new version.")


class ValidationIssue(Contract):
    """A problem found while validating a plan."""

    code: str = Field(
        description="E.g. `cycle`, `missing_dependency`, `unknown_tool`, `invalid_input`."
    )
    message: str = Field(description="Human-readable explanation.")
    severity: Literal["error", "warning"] = Field(description="Errors block approval.")
    step: str | None = Field(default=None, description="Step key concerned, if any.")


class PlanValidated(Payload):
    """A plan version was validated; `valid` says whether it may be approved."""

    type: Literal["planning.plan.validated"] = Field(
        default="planning.plan.validated", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version validated.")
    valid: bool = Field(description="True when there are no errors.")
    issues: list[ValidationIssue] = Field(default_factory=list, description="What was found.")


class PlanApproved(Payload):
    """A validated plan version was approved and may be executed."""

    type: Literal["planning.plan.approved"] = Field(
        default="planning.plan.approved", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version approved.")
    approved_by: UUID = Field(description="The approving user.")
    comment: str | None = Field(default=None, description="Approver's note.")
    plan: PlanSnapshot = Field(description="The approved version, complete.")


class PlanArchived(Payload):
    """A plan was retired; it can no longer be executed or scheduled."""

    type: Literal["planning.plan.archived"] = Field(
        default="planning.plan.archived", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    reason: str | None = Field(default=None, description="Why.")


class ScheduleSpec(Contract):
    """When and with what inputs a plan runs on its own."""

    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int | None = Field(
        default=None, ge=1, description="Pinned version; null = latest approved."
    )
    cron: str = Field(description="Five-field cron expression.")
    timezone: str = Field(default="UTC", description="IANA time zone the cron is read in.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Run inputs.")
    enabled: bool = Field(default=True, description="False while paused.")


class ScheduleCreated(Payload):
    """A schedule was created."""

    type: Literal["planning.schedule.created"] = Field(
        default="planning.schedule.created", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")
    spec: ScheduleSpec = Field(description="Its definition.")
    next_run_at: datetime | None = Field(default=None, description="Next firing, if enabled.")


class ScheduleUpdated(Payload):
    """A schedule changed; carries its current definition (pausing sets `enabled` false)."""

    type: Literal["planning.schedule.updated"] = Field(
        default="planning.schedule.updated", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")
    spec: ScheduleSpec = Field(description="Its current definition.")
    next_run_at: datetime | None = Field(default=None, description="Next firing, if enabled.")


class ScheduleDeleted(Payload):
    """A schedule was removed."""

    type: Literal["planning.schedule.deleted"] = Field(
        default="planning.schedule.deleted", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")


class ScheduleFired(Payload):
    """A schedule came due; execution starts a run of the plan."""

    type: Literal["planning.schedule.fired"] = Field(
        default="planning.schedule.fired", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")
    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int = Field(ge=1, description="Version to run.")
    due_at: datetime = Field(
        description="The slot that came due; with `schedule_id` it makes runs idempotent."
    )
    inputs: dict[str, Any] = Field(default_factory=dict, description="Run inputs.")
