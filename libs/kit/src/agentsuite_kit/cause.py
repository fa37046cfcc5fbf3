"""What the code running now is a consequence of: an HTTP request or a consumed event.

`UnitOfWork.emit` reads it to fill an envelope's correlation id, causation id, trace
context and actor, so a handler names only the payload (and the subject, if it is not
the topic's key). The consumer sets it from the event it applies; the HTTP middleware
sets the correlation id; a route may add the actor from the principal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from agentsuite_contracts.envelope import Actor, Envelope, TraceContext
from agentsuite_contracts.ids import uuid7
from agentsuite_kit.logging import correlation_id


@dataclass(frozen=True, slots=True)
class Cause:
    correlation_id: UUID
    causation_id: UUID | None = None
    trace: TraceContext | None = None
    actor: Actor | None = None


current_cause: ContextVar[Cause | None] = ContextVar("current_cause", default=None)


def cause() -> Cause:
    """The cause in force; otherwise one made from the request's correlation id (or new)."""
    found = current_cause.get()
    if found is not None:
        return found
    return Cause(correlation_id=as_uuid(correlation_id.get()))


def as_uuid(value: str | None) -> UUID:
    """A correlation id as a UUID: parsed if it is one, else derived stably, else new."""
    if not value:
        return uuid7()
    try:
        return UUID(value)
    except ValueError:
        # a client's X-Correlation-ID need not be a UUID; the same string maps to the same id
        return uuid5(NAMESPACE_URL, f"agentsuite:correlation:{value}")


@contextmanager
def caused_by(source: Envelope[Any] | Cause) -> Iterator[Cause]:
    """Run the block as a consequence of `source` (an applied event, or a given cause)."""
    if isinstance(source, Envelope):
        made = Cause(source.correlation_id, source.id, source.trace, source.actor)
    else:
        made = source
    token = current_cause.set(made)
    log_token = correlation_id.set(str(made.correlation_id))
    try:
        yield made
    finally:
        correlation_id.reset(log_token)
        current_cause.reset(token)


@contextmanager
def acting(actor: Actor) -> Iterator[Cause]:
    """Run the block with `actor` as the actor of the events it emits."""
    with caused_by(replace(cause(), actor=actor)) as made:
        yield made
