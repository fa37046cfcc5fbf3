"""What planning's routes answer with, and the bodies they take."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from agentsuite_contracts.planning import (
    Budget,
    CostForecast,
    PlanPhase,
    PlanSource,
    Requirement,
    ValidationIssue,
)
from agentsuite_planning.handlers.checks import Checked
from agentsuite_planning.repositories.labels import LabelRow, MoveRow
from agentsuite_planning.repositories.plans import PlanRow, VersionRow


class PlanIn(BaseModel):
    """A plan's whole body: what a version holds, without its id and number."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    goal: str = Field(max_length=20_000)
    inputs_schema: dict[str, Any] = Field(default_factory=dict)
    phases: list[PlanPhase] = Field(max_length=1_000)
    budget: Budget | None = None
    requirements: list[Requirement] = Field(default_factory=list, max_length=1_000)

    def content(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"reason"})


class PlanWrite(PlanIn):
    reason: str = Field(default="", max_length=2_000, description="Why: the enhancement log.")


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2_000)
    accept_gaps: bool = Field(
        default=False, description="Approve a plan drafted from a session completed with gaps."
    )


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2_000)


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2_147_483_647, description="An approved version.")
    reason: str | None = Field(default=None, max_length=2_000)


class PlanView(BaseModel):
    id: UUID
    name: str
    status: str
    head: int
    approved_version: int | None
    stale: bool
    source: PlanSource
    gaps: bool
    created_by: str
    labels: dict[str, int] = Field(default_factory=dict)
    revision: int = Field(description="Bumped by every change; the ETag.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: PlanRow, labels: list[LabelRow] | None = None) -> "PlanView":
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            head=row.head,
            approved_version=row.approved_version,
            stale=row.stale,
            source=PlanSource(kind=row.source_kind, id=row.source_id),  # type: ignore[arg-type]  # the column holds the contract's literal
            gaps=row.gaps,
            created_by=row.created_by,
            labels={label.name: label.version for label in labels or []},
            revision=row.revision,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class VersionEntry(BaseModel):
    """One line of the enhancement log."""

    version: int
    author: str
    reason: str
    created_at: datetime
    approved: bool

    @classmethod
    def of(cls, row: VersionRow) -> "VersionEntry":
        return cls(
            version=row.version,
            author=row.author,
            reason=row.reason,
            created_at=row.created_at,
            approved=row.approved_at is not None,
        )


class VersionView(VersionEntry):
    plan: dict[str, Any] = Field(description="The version's `PlanSnapshot`.")
    validation: dict[str, Any] | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    pinned: dict[str, Any] | None = Field(
        default=None, description="The snapshot with every version pinned, once approved."
    )

    @classmethod
    def of(cls, row: VersionRow) -> "VersionView":
        return cls(
            **VersionEntry.of(row).model_dump(),
            plan=row.body,
            validation=row.validation,
            approved_by=row.approved_by,
            approved_at=row.approved_at,
            pinned=row.pinned,
        )


class ValidationView(BaseModel):
    valid: bool
    issues: list[ValidationIssue]
    forecast: CostForecast | None = None

    @classmethod
    def of(cls, checked: Checked) -> "ValidationView":
        return cls(valid=checked.valid, issues=checked.issues, forecast=checked.forecast)


class ApprovedView(BaseModel):
    plan: PlanView
    version: VersionView


class LabelView(BaseModel):
    name: str
    version: int
    revision: int = Field(description="Bumped by every move; the ETag.")
    updated_at: datetime

    @classmethod
    def of(cls, row: LabelRow) -> "LabelView":
        return cls(
            name=row.name, version=row.version, revision=row.revision, updated_at=row.updated_at
        )


class MoveView(BaseModel):
    id: UUID
    label: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    reason: str | None
    at: datetime

    @classmethod
    def of(cls, row: MoveRow) -> "MoveView":
        return cls(
            id=row.id,
            label=row.label,
            from_version=row.from_version,
            to_version=row.to_version,
            moved_by=row.moved_by,
            reason=row.reason,
            at=row.at,
        )
