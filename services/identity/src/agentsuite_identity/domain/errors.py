"""Identity's refusals are the kit's one error family (`agentsuite_kit.errors`): a rule
raises `Invalid("invalid", "...", field="email")`, and the kind decides the edge's status
(the domain never knows it). A suspended tenant or deactivated user is refused as
`Forbidden("inactive", ...)`."""

from __future__ import annotations

from agentsuite_kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

__all__ = ["Conflict", "DomainError", "Forbidden", "Invalid", "NotFound"]
