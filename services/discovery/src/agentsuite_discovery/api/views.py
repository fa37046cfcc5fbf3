"""What the session routes answer with."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from agentsuite_contracts.discovery import Requirements
from agentsuite_discovery.repositories.conversation import ExtractionRecord, TurnRecord


class ObligationView(BaseModel):
    key: str
    title: str
    required: bool
    status: str | None = Field(description="pending, partial, satisfied or contested.")
    confidence: float
    required_confidence: float
    value: Any = None


class QuestionView(BaseModel):
    key: str
    obligation: str
    text: str
    source: Literal["pool", "generated"]


class SessionView(BaseModel):
    id: UUID
    objective: str
    objective_version: int
    title: str
    status: Literal["gathering", "thinking", "completed", "abandoned"]
    reason: str | None = Field(default=None, description="Why it was abandoned, if it was.")
    turns: int = Field(description="User turns taken.")
    tokens: int = Field(description="Tokens the model's answers used.")
    version: int = Field(description="Bumped by every change; the ETag.")
    obligations: list[ObligationView]
    question: QuestionView | None
    requirements: Requirements | None
    created_at: datetime
    updated_at: datetime


class TurnAccepted(BaseModel):
    turn_id: UUID
    seq: int


class TurnView(BaseModel):
    id: UUID
    seq: int
    role: Literal["user", "agent"]
    content: str
    status: Literal["pending", "answered", "failed"]
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, t: TurnRecord) -> "TurnView":
        return cls.model_validate(t, from_attributes=True)


class ExtractionView(BaseModel):
    id: UUID
    turn_id: UUID | None
    obligation: str
    value: Any
    kind: str
    confidence: float
    relation: str
    supersedes: UUID | None
    applied: bool
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, e: ExtractionRecord) -> "ExtractionView":
        return cls.model_validate(e, from_attributes=True)
