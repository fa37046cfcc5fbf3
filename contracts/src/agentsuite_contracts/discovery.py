"""discovery v1 payloads: a requirements-discovery session from first turn to requirements.

A session works through an objective's obligations (what must be known before planning).
Each user turn goes to the model, whose extractions are recorded (applied or rejected with
the reason, history never overwritten); the session completes when every required
obligation meets its confidence, or a user forces it with the gaps listed.
`discovery.session.completed` carries the requirements document planning drafts from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.envelope import Contract, Event
from agentsuite_contracts.marks import Sensitive


class ExtractionKind(StrEnum):
    """How an extracted value was obtained."""

    FACT = "fact"  # stated by the user
    DECISION = "decision"  # a choice the user made
    INFERENCE = "inference"  # derived by the model


class Relation(StrEnum):
    """How an extraction relates to the obligation's value before it."""

    NEW = "new"  # the obligation had no value
    CONFIRMS = "confirms"  # the same value again: confidence rises
    REVISES = "revises"  # replaces the value (a correction, or a contradiction resolved)
    CONTRADICTS = "contradicts"  # conflicts with the value: the obligation is contested


class ObligationStatus(StrEnum):
    """How far an obligation (a thing discovery must learn) is met."""

    PENDING = "pending"  # no value yet
    PARTIAL = "partial"  # a value below the required confidence
    SATISFIED = "satisfied"  # a value at or above the required confidence
    CONTESTED = "contested"  # two values contradict each other; asked next


class ObligationKind(StrEnum):
    """What sort of requirement an obligation yields."""

    GOAL = "goal"
    INPUT = "input"
    OUTPUT = "output"
    CONSTRAINT = "constraint"
    SUCCESS_CRITERION = "success_criterion"
    TOOL = "tool"
    APPROVAL = "approval"
    OTHER = "other"


class SessionStarted(Event):
    """A discovery session began on one version of an objective."""

    type: Literal["discovery.session.started"] = Field(
        default="discovery.session.started", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    objective: str = Field(description="Key of the objective being pursued.")
    objective_version: int = Field(ge=1, description="Version of the objective.")
    title: Sensitive[str] = Field(description="Short name of the session.")
    user_id: UUID = Field(description="The user who opened it.")
    obligations: list[str] = Field(description="Keys of the objective's obligations.")


class TurnRecorded(Event):
    """One message of the conversation was recorded."""

    type: Literal["discovery.turn.recorded"] = Field(
        default="discovery.turn.recorded", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    turn_id: UUID = Field(description="The turn.")
    seq: int = Field(ge=0, description="Position in the conversation, from 0.")
    role: Literal["user", "agent"] = Field(description="Who spoke.")
    content: Sensitive[str] = Field(description="What was said.")


class ExtractionRecorded(Event):
    """A value proposed for an obligation was recorded: applied, or rejected with why."""

    type: Literal["discovery.extraction.recorded"] = Field(
        default="discovery.extraction.recorded", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    extraction_id: UUID = Field(description="The extraction.")
    turn_id: UUID | None = Field(
        description="Turn it was extracted from; null for a prefilled answer."
    )
    obligation: str = Field(description="Key of the obligation it is for, as proposed.")
    value: Sensitive[Any] = Field(description="The proposed value (any JSON).")
    confidence: float = Field(ge=0, le=1, description="Confidence in the value, 0..1.")
    kind: ExtractionKind = Field(description="Stated, decided or inferred.")
    relation: Relation = Field(description="How it relates to the value before it.")
    supersedes: UUID | None = Field(
        default=None, description="The extraction it revises or contradicts, if any."
    )
    applied: bool = Field(description="Whether it changed the obligation's state.")
    reason: str | None = Field(
        default=None,
        description="Why it was rejected (`unknown_obligation`, `invalid_value: ...`), if so.",
    )


class ObligationChanged(Event):
    """An obligation's status or confidence changed."""

    type: Literal["discovery.obligation.changed"] = Field(
        default="discovery.obligation.changed", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    obligation: str = Field(description="Key of the obligation.")
    status: ObligationStatus = Field(description="Status reached.")
    confidence: float = Field(ge=0, le=1, description="Confidence in the current value.")
    extraction_id: UUID | None = Field(
        default=None, description="The extraction whose value is current, if any."
    )


class Finding(Contract):
    """One obligation's final value in the requirements document."""

    obligation: str = Field(description="Key of the obligation.")
    title: str = Field(description="The obligation's title.")
    kind: ObligationKind = Field(description="What sort of requirement it is.")
    required: bool = Field(description="Whether the gate required it.")
    status: ObligationStatus = Field(description="Its status at completion.")
    value: Sensitive[Any] = Field(default=None, description="The current value, if any.")
    confidence: float = Field(ge=0, le=1, description="Confidence in the value.")
    required_confidence: float = Field(ge=0, le=1, description="Confidence the gate asks for.")
    extraction_id: UUID | None = Field(
        default=None, description="The extraction whose value this is."
    )
    extraction_kind: ExtractionKind | None = Field(
        default=None, description="How that value was obtained."
    )


class Gap(Contract):
    """A required obligation that did not meet its confidence."""

    obligation: str = Field(description="Key of the obligation.")
    status: ObligationStatus = Field(description="Its status at completion.")
    confidence: float = Field(ge=0, le=1, description="Confidence reached.")
    required_confidence: float = Field(ge=0, le=1, description="Confidence the gate asks for.")


class Candidate(Contract):
    """A catalog tool or agent the requirements may use (from discovery's projection)."""

    kind: Literal["tool", "agent"] = Field(description="Tool or agent.")
    name: str = Field(description="Its catalog name.")
    version: str = Field(description="The newest version discovery has seen.")
    description: str = Field(default="", description="Its catalog description.")
    score: float = Field(ge=0, description="How many of the requirements' terms it matches.")


class Requirements(Contract):
    """What discovery learned: the input planning drafts a plan from."""

    objective: str = Field(description="Key of the objective.")
    objective_version: int = Field(ge=1, description="Version of the objective.")
    goal: Sensitive[str | None] = Field(
        default=None, description="The `goal` obligation's value as text, when there is one."
    )
    findings: list[Finding] = Field(description="Every obligation, in the objective's order.")
    gaps: list[Gap] = Field(default_factory=list, description="Required obligations not met.")
    candidates: list[Candidate] = Field(
        default_factory=list, description="Catalog tools and agents the requirements cite."
    )
    completeness: float = Field(ge=0, le=1, description="Share of required obligations met.")
    forced: bool = Field(default=False, description="Completed by force with gaps.")
    forced_reason: Sensitive[str | None] = Field(
        default=None, description="Why it was forced, as the user gave it."
    )


class SessionCompleted(Event):
    """A session finished and produced requirements."""

    type: Literal["discovery.session.completed"] = Field(
        default="discovery.session.completed", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    requirements: Requirements = Field(description="What was learned.")


class SessionReopened(Event):
    """A completed session gathers again (its owner reopened it): new turns may confirm,
    revise or contradict its values, and it completes again with new requirements."""

    type: Literal["discovery.session.reopened"] = Field(
        default="discovery.session.reopened", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    user_id: UUID = Field(description="Who reopened it.")
    reason: Sensitive[str | None] = Field(default=None, description="Why, in their words.")


class SessionAbandoned(Event):
    """A session ended without requirements: given up, or over its turn or token cap."""

    type: Literal["discovery.session.abandoned"] = Field(
        default="discovery.session.abandoned", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    reason: str = Field(description="`abandoned`, `turn_cap` or `token_cap`.")
    note: Sensitive[str | None] = Field(default=None, description="The user's words, if any.")
