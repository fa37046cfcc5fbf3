"""What one request is while the gateway serves it: its options, its prepared form (what the
trace and the budget need to know of it) and its finished outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_llm_gateway.budgets import Reservation
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Catalog
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.routing import Route
from agentsuite_llm_gateway.domain.traces import Attempt

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Options:
    """How to serve one request, beside its OpenAI body."""

    request_id: UUID
    max_cost_micros: int | None = None  # the request's cost cap (execution: its run's rest)
    cache: bool = False  # look up and store the answer in the response cache
    cache_ttl: float | None = None  # seconds; None: settings.cache_ttl
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished (non-streamed) completion or embedding."""

    body: Json  # the OpenAI response object, with the `agentsuite` extension member
    model: str
    provider: str
    tokens: Tokens
    cost_micros: int
    currency: str
    latency_ms: int
    cached: bool = False


@dataclass(slots=True)
class Prepared:
    """A request ready to try: what the trace and the budget need to know of it."""

    caller: Caller
    options: Options
    body: Json  # the OpenAI body sent upstream (prompt rendered, gateway members gone)
    route: Route
    catalog: Catalog
    at: datetime
    started: float  # perf_counter at arrival
    prompt_tokens: int  # the upper-bound estimate of the input
    max_output: int  # output tokens asked for, per choice (0: unbounded)
    choices: int = 1  # `n`: every choice is billed output
    embeddings: bool = False
    prompt_id: UUID | None = None
    prompt_version: int | None = None
    reservation: Reservation | None = None
    reserved_for: str | None = None  # the model whose estimate is reserved
    settled: bool = False  # the reservation was settled as the call ended (not by the trace)
    attempts: list[Attempt] = field(default_factory=list)
    # its trace's id: the `started` row written before the first upstream call and the
    # finished trace that replaces it are one row
    call_id: UUID = field(default_factory=uuid7)
    begun: bool = False  # the `started` row was written (or tried)


def elapsed_ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)
