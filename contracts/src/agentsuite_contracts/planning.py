"""planning v1 payloads: plans (phases -> steps DAG) through approval, and schedules.

The steps themselves and the budget are in `agentsuite_contracts.steps`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject
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


class PlanValidated(Event):
    """A plan version was validated; `valid` says whether it may be approved."""

    type: Literal["planning.plan.validated"] = Field(
        default="planning.plan.validated", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version validated.")
    valid: bool = Field(description="True when there are no errors.")
    issues: list[ValidationIssue] = Field(default_factory=list, description="What was found.")


class PlanApproved(Event):
    """A validated plan version was approved and may be executed."""

    type: Literal["planning.plan.approved"] = Field(
        default="planning.plan.approved", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    version: int = Field(ge=1, description="Version approved.")
    approved_by: UUID = Field(description="The approving user.")
    comment: Sensitive[str | None] = Field(default=None, description="Approver's note.")
    plan: PlanSnapshot = Field(description="The approved version, complete.")


class PlanArchived(Event):
    """A plan was retired; it can no longer be executed or scheduled."""

    type: Literal["planning.plan.archived"] = Field(
        default="planning.plan.archived", description="Message type."
    )
    plan_id: UUID = Field(description="The plan.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")


class ScheduleSpec(Contract):
    """When and with what inputs a plan runs on its own."""

    plan_id: UUID = Field(description="Plan to run.")
    plan_version: int | None = Field(
        default=None, ge=1, description="Pinned version; null = latest approved."
    )
    cron: str = Field(description="Five-field cron expression.")
    timezone: str = Field(default="UTC", description="IANA time zone the cron is read in.")
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
