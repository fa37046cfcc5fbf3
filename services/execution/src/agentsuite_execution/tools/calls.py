"""What a tool invocation is given (Call) and how it fails (ToolError)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from agentsuite_contracts.catalog import ToolBinding

if TYPE_CHECKING:
    from agentsuite_execution.tools.credentials import Credential


class ToolError(Exception):
    """A tool call failed. `code` is stable (plans branch on it); `retryable` says whether
    the same call may succeed later (a 503, a timeout) or never will (a 400, a refusal)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details: dict[str, Any] = details if details is not None else {}

    def __repr__(self) -> str:
        return f"ToolError({self.code!r}, {self.message!r}, retryable={self.retryable})"


@dataclass(frozen=True, slots=True)
class Call:
    """One attempt of one tool step. The key, attempt, execution and step travel to an
    `http` tool as headers so it can deduplicate retries of the same step; `credential`
    is the binding's `auth` with its secret's value."""

    binding: ToolBinding
    input: Any
    key: str
    attempt: int
    timeout: float
    execution_id: UUID
    step: str
    # the binding's `auth`, resolved from the tenant's secrets (kept out of the repr)
    credential: Credential | None = field(default=None, repr=False)


Builtin = Callable[[Any, Call], Awaitable[Any]]
