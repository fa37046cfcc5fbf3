"""Why a command was refused, in the domain's own words: one error family for every service.

A domain raises `NotFound("plan_not_found", "no plan 7")` or `Invalid("invalid", "...",
field="steps[2].tool")`; it never knows HTTP. The edge (`agentsuite_kit.http.problems`)
answers each `Kind` with its status as problem+json carrying `code` and `field`, and a
Kafka consumer (`agentsuite_kit.messaging.consumer`) dead-letters a `DomainError` at once
(reason `invalid`, the code and message as the error text): a refusal does not pass by
being tried again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class Kind(StrEnum):
    """What sort of refusal: the edge's status follows from it, never from the code."""

    INVALID = "invalid"  # the input breaks a rule (422)
    NOT_FOUND = "not_found"  # no such thing in the caller's reach (404)
    CONFLICT = "conflict"  # the current state forbids it, or a unique name is taken (409)
    FORBIDDEN = "forbidden"  # the caller may not do this (403)
    PRECONDITION = "precondition"  # the caller's version is stale (412)
    EXHAUSTED = "exhausted"  # a budget or quota has no room (402)
    RATE_LIMITED = "rate_limited"  # too many calls in the window (429)
    UNAVAILABLE = "unavailable"  # a dependency failed or answered wrongly (502)
    TIMED_OUT = "timed_out"  # a dependency did not answer in time (504)


class DomainError(Exception):
    """A rule refused the command. `code` is stable and machine-readable (clients branch on
    it), `message` tells a person what to change, `field` names the input at fault (dotted,
    `steps[2].tool`), `extensions` are members the problem document adds (a budget's
    figures). Subclasses fix the `kind`; a bare `DomainError` is `invalid`."""

    kind: ClassVar[Kind] = Kind.INVALID

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extensions = extensions or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, field={self.field!r})"


class Invalid(DomainError):
    kind = Kind.INVALID


class NotFound(DomainError):
    kind = Kind.NOT_FOUND


class Conflict(DomainError):
    kind = Kind.CONFLICT


class Forbidden(DomainError):
    kind = Kind.FORBIDDEN


class PreconditionFailed(DomainError):
    kind = Kind.PRECONDITION


class Exhausted(DomainError):
    kind = Kind.EXHAUSTED


class RateLimited(DomainError):
    kind = Kind.RATE_LIMITED


class Unavailable(DomainError):
    kind = Kind.UNAVAILABLE


class TimedOut(DomainError):
    kind = Kind.TIMED_OUT
