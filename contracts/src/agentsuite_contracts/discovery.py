"""discovery v1 payloads: a requirements-discovery session from first turn to requirements."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.envelope import Contract, Event
from agentsuite_contracts.marks import Sensitive


class ContextKind(StrEnum):
    """What a discovery session is trying to learn."""

    BUSINESS_PROFILE = "business_profile"
    IDEA_DISCOVERY = "idea_discovery"
    PROJECT_DISCOVERY = "project_discovery"


class ExtractionKind(StrEnum):
    """How an extracted value was obtained."""

    FACT = "fact"  # stated by the user
    DECISION = "decision"  # implied by the user's choice
    INFERENCE = "inference"  # derived by the model


class ObligationStatus(StrEnum):
    """How far an obligation (a thing discovery must learn) is met."""

    PENDING = "pending"
    PARTIAL = "partial"
    SATISFIED = "satisfied"
    DEFERRED = "deferred"
    SKIPPED = "skipped"


class Priority(StrEnum):
    """Relative importance of a requirement."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class SessionStarted(Event):
    """A discovery session began with a set of obligations to fulfil."""

    type: Literal["discovery.session.started"] = Field(
        default="discovery.session.started", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    objective: str = Field(description="Key of the discovery objective being pursued.")
    context: ContextKind = Field(description="What the session is trying to learn.")
    title: Sensitive[str] = Field(description="Short name of the session.")
    user_id: UUID = Field(description="The user being interviewed.")
    obligations: list[str] = Field(description="Keys of the obligations to fulfil.")


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
    """A value was extracted from a turn toward an obligation."""

    type: Literal["discovery.extraction.recorded"] = Field(
        default="discovery.extraction.recorded", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    extraction_id: UUID = Field(description="The extraction.")
    turn_id: UUID = Field(description="Turn it was extracted from.")
    obligation: str = Field(description="Key of the obligation it contributes to.")
    field: str = Field(description="Name of the extracted attribute, e.g. `target_users`.")
    value: Sensitive[Any] = Field(description="The extracted value (any JSON).")
    confidence: float = Field(ge=0, le=1, description="Model confidence, 0..1.")
    kind: ExtractionKind = Field(description="Stated, implied or derived.")


class ObligationFulfilled(Event):
    """An obligation reached a settled status."""

    type: Literal["discovery.obligation.fulfilled"] = Field(
        default="discovery.obligation.fulfilled", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    obligation: str = Field(description="Key of the obligation.")
    status: ObligationStatus = Field(description="Status reached.")
    confidence: float = Field(ge=0, le=1, description="Confidence in the collected value.")
    extraction_ids: list[UUID] = Field(
        default_factory=list, description="Extractions that fulfilled it."
    )


class Requirement(Contract):
    """One requirement distilled from the session."""

    key: str = Field(description="Stable key within the session, e.g. `R1`.")
    statement: Sensitive[str] = Field(description="The requirement, in one sentence.")
    kind: Literal["functional", "constraint", "success_criterion", "dealbreaker"] = Field(
        description="What sort of requirement it is."
    )
    priority: Priority = Field(description="Relative importance.")
    confidence: float = Field(ge=0, le=1, description="Confidence it is what the user wants.")
    sources: list[UUID] = Field(default_factory=list, description="Supporting extraction ids.")


class Requirements(Contract):
    """What discovery learned: the input planning drafts a plan from."""

    problem: Sensitive[str] = Field(description="The problem to solve.")
    goal: Sensitive[str] = Field(description="The outcome the user wants.")
    items: list[Requirement] = Field(description="The requirements, most important first.")
    facts: Sensitive[dict[str, Any]] = Field(
        default_factory=dict, description="Settled obligation values by obligation key."
    )
    completeness: float = Field(ge=0, le=1, description="Share of obligations satisfied.")


class SessionCompleted(Event):
    """A session finished and produced requirements."""

    type: Literal["discovery.session.completed"] = Field(
        default="discovery.session.completed", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    requirements: Requirements = Field(description="What was learned.")


class SessionAbandoned(Event):
    """A session was given up before completion."""

    type: Literal["discovery.session.abandoned"] = Field(
        default="discovery.session.abandoned", description="Message type."
    )
    session_id: UUID = Field(description="The session.")
    reason: Sensitive[str | None] = Field(default=None, description="Why, when known.")
