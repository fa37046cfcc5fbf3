"""The request path: prompt, route, budget, upstream with retries and fallbacks, trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens

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


class Gateway:
    """`chat`, `stream` and `embed`: every entrypoint (HTTP, Kafka) calls these."""

    async def chat(self, caller: Caller, body: Json, options: Options) -> Outcome:
        """Complete `body` (an OpenAI chat request, maybe with a `prompt` reference);
        GatewayError when refused or when every route failed."""
        raise NotImplementedError

    async def stream(self, caller: Caller, body: Json, options: Options) -> AsyncIterator[bytes]:
        """SSE bytes; the first token is already in hand when this returns."""
        raise NotImplementedError

    async def embed(self, caller: Caller, body: Json, options: Options) -> Outcome:
        raise NotImplementedError
