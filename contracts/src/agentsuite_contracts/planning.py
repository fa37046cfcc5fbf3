"""planning v1 payloads: plans (phases -> steps DAG) through approval, and schedules.

The steps themselves and the budget are in `agentsuite_contracts.steps`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject, Money
from agentsuite_contracts.envelope import Contract, Event
from agentsuite_contracts.marks import Sensitive
from agentsuite_contracts.steps import Budget as Budget
from agentsuite_contracts.steps import PlanStep as PlanStep
from agentsuite_contracts.steps import StepKind as StepKind


class PlanStatus(StrEnum):
    """Lifecycle of a plan."""

    DRAFT = "draft"
    VALID = "valid"
    INVALID = "invalid"
    APPROVED = "approved"
    ARCHIVED = "archived"


class PlanPhase(Contract):
    """An ordered group of steps; dependencies may cross phases."""

    key: str = Field(description="Unique key in the plan.")
    name: str = Field(description="Display name.")
    description: str = Field(default="", description="What the phase achieves.")
    steps: list[PlanStep] = Field(description="Its steps.")


class Requirement(Contract):
    """A requirement a plan cites: one finding of a discovery session, or written by hand."""

    key: str = Field(description="Unique key in the plan; a discovery obligation's key.")
    title: str = Field(default="", description="What is required, in words.")
    session_id: UUID | None = Field(
        default=None, description="The discovery session it came from, if any."
    )
    extraction_id: UUID | None = Field(
        default=None, description="The extraction whose value it cites, if any."
    )
    value: Sensitive[Any] = Field(default=None, description="The value cited (any JSON).")


class PlanSnapshot(Contract):
    """A complete plan version: what execution runs."""

    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Plan version, bumped on every edit.")
    name: str = Field(description="Display name.")
    goal: Sensitive[str] = Field(description="What the plan achieves.")
    inputs_schema: JsonObject = Field(
        default_factory=dict, description="JSON Schema of the inputs a run takes."
    )
    phases: list[PlanPhase] = Field(description="Phases in order.")
    budget: Budget | None = Field(default=None, description="Limits per run.")
    requirements: list[Requirement] = Field(
        default_factory=list,
        description="Requirements the plan serves; steps cite them by key in `serves`.",
    )


class PlanSource(Contract):
    """Where a plan came from."""

    kind: Literal["discovery", "template", "manual"] = Field(description="Origin.")
    id: str | None = Field(
        default=None, description="Discovery session id or template key, when not manual."
    )


class PlanDrafted(Event):
    """A plan was drafted (from requirements, a template or by hand)."""

    type: Literal["planning.plan.drafted"] = Field(
        default="planning.plan.drafted", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    source: PlanSource = Field(description="Where it came from.")
    plan: PlanSnapshot = Field(description="The first version.")


class PlanUpdated(Event):
    """A plan was edited; a new version exists and any validation is void."""

    type: Literal["planning.plan.updated"] = Field(
        default="planning.plan.updated", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="New version.")
    summary: Sensitive[str] = Field(default="", description="What changed, in words.")
    plan: PlanSnapshot = Field(description="The new version.")


class ValidationIssue(Contract):
    """A problem found while validating a plan."""

    code: str = Field(
        description="E.g. `cycle`, `missing_dependency`, `unknown_tool`, `invalid_input`."
    )
    message: Sensitive[str] = Field(description="Human-readable explanation.")
    severity: Literal["error", "warning"] = Field(description="Errors block approval.")
    step: str | None = Field(default=None, description="Step key concerned, if any.")
    path: str | None = Field(
        default=None,
        description="JSON path of the field concerned, e.g. `phases[0].steps[3].depends_on[1]`.",
    )


class CostForecast(Contract):
    """What one run of a plan version is expected to cost."""

    p50: Money = Field(description="Median cost per run.")
    p95: Money = Field(description="95th-percentile cost per run.")
    runs: int = Field(ge=0, description="Past runs of the same steps the figures draw on.")
    unpriced: list[str] = Field(
        default_factory=list,
        description="Keys of steps that may spend but could not be priced (unknown model, "
        "no history): the figures leave them out.",
    )


class PlanValidated(Event):
    """A plan version was validated; `valid` says whether it may be approved."""

    type: Literal["planning.plan.validated"] = Field(
        default="planning.plan.validated", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version validated.")
    valid: bool = Field(description="True when there are no errors.")
    issues: list[ValidationIssue] = Field(default_factory=list, description="What was found.")
    forecast: CostForecast | None = Field(
        default=None, description="Cost forecast per run, when the plan could be priced."
    )


class PlanApproved(Event):
    """A validated plan version was approved and may be executed."""

    type: Literal["planning.plan.approved"] = Field(
        default="planning.plan.approved", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version approved.")
    approved_by: UUID = Field(description="The approving user.")
    comment: Sensitive[str | None] = Field(default=None, description="Approver's note.")
    plan: PlanSnapshot = Field(
        description="The approved version, complete, with every tool and agent version pinned."
    )
    forecast: CostForecast | None = Field(
        default=None, description="Cost forecast per run at approval, when it could be priced."
    )


class PlanArchived(Event):
    """A plan was retired; it can no longer be executed or scheduled."""

    type: Literal["planning.plan.archived"] = Field(
        default="planning.plan.archived", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")


class PlanStaleCause(Contract):
    """A cited requirement discovery has since contradicted or revised."""

    requirement: str = Field(description="Key of the plan's requirement.")
    session_id: UUID = Field(description="The discovery session.")
    extraction_id: UUID = Field(description="The extraction that contradicts or revises it.")
    relation: str = Field(description="`contradicts` or `revises`.")


class PlanStale(Event):
    """An approved version cites a requirement that changed: no new run or schedule slot
    of the plan starts until a version is approved again."""

    type: Literal["planning.plan.stale"] = Field(
        default="planning.plan.stale", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="The approved version that became stale.")
    causes: list[PlanStaleCause] = Field(description="The requirements that changed.")


class LabelMoved(Event):
    """A label (`production`, `staging`, your own) now points at another version; moving
    it back is a rollback. `version` null: the label was removed."""

    type: Literal["planning.label.moved"] = Field(
        default="planning.label.moved", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    label: str = Field(description="The label.")
    version: int | None = Field(default=None, ge=1, description="Version it points at now.")
    previous: int | None = Field(default=None, ge=1, description="Version it pointed at.")
    reason: Sensitive[str | None] = Field(default=None, description="Why it moved.")


class Overlap(StrEnum):
    """What a slot does while the schedule's previous run is still going."""

    SKIP = "skip"
    QUEUE = "queue"
    ALLOW = "allow"


class CatchUp(StrEnum):
    """What slots missed while planning was down (or the schedule paused) do."""

    NONE = "none"
    LATEST = "latest"
    ALL = "all"


class ScheduleSpec(Contract):
    """When and with what inputs a plan runs on its own: exactly one of `cron`,
    `interval_seconds` and `at`."""

    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int | None = Field(
        default=None, ge=1, description="Pinned version; null = the label's version."
    )
    label: str | None = Field(
        default=None,
        description="Label whose version each slot runs (read when the slot fires), when no "
        "version is pinned.",
    )
    cron: str | None = Field(default=None, description="Five-field cron expression.")
    timezone: str = Field(default="UTC", description="IANA time zone the cron is read in.")
    interval_seconds: int | None = Field(
        default=None, ge=1, description="Fixed interval between slots."
    )
    at: datetime | None = Field(default=None, description="The one slot of a one-time run.")
    overlap: Overlap = Field(
        default=Overlap.SKIP, description="What a slot does while the previous run is going."
    )
    catch_up: CatchUp = Field(
        default=CatchUp.LATEST, description="What slots missed while down do."
    )
    inputs: Sensitive[dict[str, Any]] = Field(default_factory=dict, description="Run inputs.")
    enabled: bool = Field(default=True, description="False while paused.")


class ScheduleCreated(Event):
    """A schedule was created."""

    type: Literal["planning.schedule.created"] = Field(
        default="planning.schedule.created", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")
    spec: ScheduleSpec = Field(description="Its definition.")
    next_run_at: datetime | None = Field(default=None, description="Next firing, if enabled.")


class ScheduleUpdated(Event):
    """A schedule changed; carries its current definition (pausing sets `enabled` false)."""

    type: Literal["planning.schedule.updated"] = Field(
        default="planning.schedule.updated", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")
    spec: ScheduleSpec = Field(description="Its current definition.")
    next_run_at: datetime | None = Field(default=None, description="Next firing, if enabled.")


class ScheduleDeleted(Event):
    """A schedule was removed."""

    type: Literal["planning.schedule.deleted"] = Field(
        default="planning.schedule.deleted", description="Message type."
    )
    schedule_id: UUID = Field(description="The schedule.")


class ScheduleFired(Event):
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
    inputs: Sensitive[dict[str, Any]] = Field(default_factory=dict, description="Run inputs.")


class TriggerKind(StrEnum):
    """How a trigger is called."""

    WEBHOOK = "webhook"
    API = "api"


class TriggerSpec(Contract):
    """A plan version published as a webhook (Standard Webhooks signatures) or as an
    authenticated API endpoint: each accepted delivery starts one run."""

    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int | None = Field(
        default=None, ge=1, description="Pinned version; null = the label's version."
    )
    label: str | None = Field(
        default=None, description="Label whose version a delivery runs, when none is pinned."
    )
    kind: TriggerKind = Field(description="Webhook or API endpoint.")
    enabled: bool = Field(default=True, description="False: deliveries are refused.")


class TriggerCreated(Event):
    """A trigger was published. Its signing secret is never in an event."""

    type: Literal["planning.trigger.created"] = Field(
        default="planning.trigger.created", description="Message type."
    )
    trigger_id: UUID = Field(description="The trigger.")
    spec: TriggerSpec = Field(description="Its definition.")


class TriggerUpdated(Event):
    """A trigger changed (target, enabled, or its secret rotated)."""

    type: Literal["planning.trigger.updated"] = Field(
        default="planning.trigger.updated", description="Message type."
    )
    trigger_id: UUID = Field(description="The trigger.")
    spec: TriggerSpec = Field(description="Its current definition.")
    secret_rotated: bool = Field(default=False, description="True when the secret rotated.")


class TriggerDeleted(Event):
    """A trigger was removed; its URL answers 404 from now on."""

    type: Literal["planning.trigger.deleted"] = Field(
        default="planning.trigger.deleted", description="Message type."
    )
    trigger_id: UUID = Field(description="The trigger.")


class TriggerFired(Event):
    """A delivery was accepted; execution starts exactly one run per (trigger, delivery)."""

    type: Literal["planning.trigger.fired"] = Field(
        default="planning.trigger.fired", description="Message type."
    )
    trigger_id: UUID = Field(description="The trigger.")
    delivery_id: str = Field(
        description="The delivery's id (`webhook-id`, or the API call's Idempotency-Key or "
        "a new id); with `trigger_id` it makes runs idempotent."
    )
    kind: TriggerKind = Field(description="Webhook or API endpoint.")
    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int = Field(ge=1, description="Version to run.")
    inputs: Sensitive[dict[str, Any]] = Field(
        default_factory=dict, description="Run inputs: the delivery's JSON body."
    )
