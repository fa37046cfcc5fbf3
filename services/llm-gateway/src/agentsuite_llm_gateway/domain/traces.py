"""One recorded call: what the trace table, the usage rollup and `llm.usage.v1` carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one model: the fallback path is the list of these."""

    model: str
    provider: str
    status: str  # ok | rate_limited | server | timeout | connect | bad_response | ...
    ms: int
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "provider": self.provider,
            "status": self.status,
            "ms": self.ms,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Trace:
    call_id: UUID
    request_id: UUID
    at: datetime  # when the request arrived (UTC)
    caller: Caller
    requested: str  # the model or alias asked for
    model: str | None  # the model that answered (or was tried last)
    provider: str | None
    status: str  # ok | error
    tokens: Tokens
    cost_micros: int
    currency: str
    latency_ms: int
    ttft_ms: int | None = None
    stream: bool = False
    cached: bool = False
    error_code: str | None = None
    prompt_id: UUID | None = None
    prompt_version: int | None = None
    attempts: tuple[Attempt, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    # the budget reservation this call settles (None: no budget applied)
    reservation_id: UUID | None = None
    instance_id: UUID | None = None  # the process that ran it (instance.py)
