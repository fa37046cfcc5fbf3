"""The envelope every Kafka message of Agentsuite travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentsuite_contracts.ids import uuid7


class Contract(BaseModel):
    """Base of every contract model: immutable, strict about unknown fields on input."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Payload(Contract):
    """Base of every event or command payload; subclasses narrow `type` to one literal.

    A registered payload subclasses exactly one of `Event` and `Command`.
    """

    type: str = Field(description="Dotted message type, e.g. `planning.plan.approved`.")


class Event(Payload):
    """A fact that happened; any number of services may react to it, or none."""


class Command(Payload):
    """A request that one service act (e.g. an LLM completion); it is answered or refused."""


MessageKind = Literal["events", "commands"]


def kind_of(cls: type[Payload]) -> MessageKind:
    """`events` or `commands`: which of the two bases a payload class subclasses."""
    is_event, is_command = issubclass(cls, Event), issubclass(cls, Command)
    if is_event == is_command:
        raise TypeError(f"{cls.__name__} must subclass exactly one of Event and Command")
    return "events" if is_event else "commands"


class Actor(Contract):
    """Who caused the event."""

    kind: Literal["user", "api_key", "service", "system"] = Field(
        description="What sort of principal acted."
    )
    id: str = Field(description="The principal's id: user id, API key id or service name.")


class Subject(Contract):
    """The resource the event is about (the aggregate; its id is the Kafka key)."""

    type: str = Field(description="Resource type, e.g. `plan`.")
    id: str = Field(description="Resource id.")


class TraceContext(Contract):
    """W3C trace context carried across Kafka hops."""

    traceparent: str = Field(description="W3C `traceparent` header value.")
    tracestate: str | None = Field(default=None, description="W3C `tracestate` header value.")


P = TypeVar("P", bound=Payload)
Q = TypeVar("Q", bound=Payload)


def _now() -> datetime:
    return datetime.now(UTC)


def _wire_required(schema: dict[str, Any]) -> None:
    # Defaults are filled in by producers, so every serialized envelope carries these.
    wire = {"id", "type", "schema_version", "occurred_at", "producer", "subject"}
    schema["required"] = sorted({*schema.get("required", []), *wire})


class Envelope(Contract, Generic[P]):
    """One message on a topic: metadata plus a typed payload."""

    model_config = ConfigDict(json_schema_extra=_wire_required)

    id: UUID = Field(default_factory=uuid7, description="Event id, a time-ordered UUIDv7.")
    # The default is never used: the before-validator copies `payload.type`. It exists so
    # producers need not repeat the type (and type checkers do not demand it).
    type: str = Field(default="", description="Message type; always equal to `payload.type`.")
    schema_version: int = Field(default=1, ge=1, description="Payload schema version.")
    occurred_at: datetime = Field(default_factory=_now, description="When the fact happened (UTC).")
    producer: str = Field(description="Service that produced the message, e.g. `planning`.")
    tenant_id: UUID | None = Field(
        default=None, description="Owning tenant; null only for platform-level events."
    )
    actor: Actor | None = Field(default=None, description="Who caused it, when known.")
    subject: Subject = Field(description="The aggregate the message is about.")
    correlation_id: UUID = Field(description="Id shared by every message of one story.")
    causation_id: UUID | None = Field(
        default=None, description="Id of the message that caused this one."
    )
    trace: TraceContext | None = Field(default=None, description="W3C trace context.")
    sequence: int | None = Field(
        default=None,
        ge=1,
        description="Position of this event among its aggregate's events on the topic "
        "(1, 2, ...), assigned by the producer's outbox: a consumer sees a gap or a "
        "reordering by comparing it with the last one it applied.",
    )
    payload: P = Field(description="The typed payload; its `type` names the message.")

    @model_validator(mode="before")
    @classmethod
    def _type_from_payload(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" not in data:
            payload = data.get("payload")
            ptype = (
                payload.get("type") if isinstance(payload, dict) else getattr(payload, "type", None)
            )
            if ptype is not None:
                data = {**data, "type": ptype}
        return data

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope[P]:
        if self.type != self.payload.type:
            raise ValueError(f"envelope type {self.type!r} != payload type {self.payload.type!r}")
        return self

    def caused(self, payload: Q, *, producer: str, subject: Subject | None = None) -> Envelope[Q]:
        """A follow-up envelope: same tenant and correlation, causation = this event.

        The payload may be of any type: a reaction usually is another message than its cause.
        """
        return Envelope[Q](
            producer=producer,
            tenant_id=self.tenant_id,
            actor=self.actor,
            subject=subject or self.subject,
            correlation_id=self.correlation_id,
            causation_id=self.id,
            trace=self.trace,
            payload=payload,
        )
