"""Domain failures; the API maps each to a problem+json status."""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the command; `code` is stable, `detail` is for humans."""

    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class Invalid(DomainError):
    """Input that parses but breaks a rule (unknown capability, bad condition)."""

    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """A unique name is taken, or the object is in a state that forbids the change."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Gone(DomainError):
    """The tenant or user was suspended, deactivated or deleted."""

    status = 403
    code = "inactive"
