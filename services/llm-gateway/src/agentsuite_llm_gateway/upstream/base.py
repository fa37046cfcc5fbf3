"""The contract between the gateway and a provider adapter.

Every adapter speaks OpenAI's chat-completions shape to the gateway, whatever its wire:
`complete` returns a `chat.completion` object, `stream` yields `chat.completion.chunk`
objects (the last may carry `usage`), `embed` returns an embeddings `list`. A failure is
an `UpstreamError` whose `kind` tells the router whether to retry, fall back, or give up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.costs import Tokens

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One request to one model of one provider."""

    model: Model
    body: Json  # the client's OpenAI request; the adapter sends `model.upstream` as model
    credential: str | None  # the provider's secret, decrypted for this call only
    timeout: float  # seconds the whole call (or a stream's first token) may take


@dataclass(frozen=True, slots=True)
class Reply:
    body: Json  # OpenAI response object (`chat.completion` or embeddings `list`)
    tokens: Tokens


class Failure(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: retry after backoff, then fall back
    SERVER = "server"  # 5xx: retry, then fall back
    TIMEOUT = "timeout"  # no answer (or first token) in time: retry, then fall back
    CONNECT = "connect"  # could not connect: fall back
    BAD_RESPONSE = "bad_response"  # malformed, oversized, redirected: fall back
    REFUSED = "refused"  # 4xx the request caused (bad params, too long): surfaced as is
    BLOCKED = "blocked"  # the SSRF guard refused the address: fall back, never retried
    AUTH = "auth"  # 401/403: the provider refused the gateway's key, not the caller: fall back


RETRYABLE = frozenset({Failure.RATE_LIMITED, Failure.SERVER, Failure.TIMEOUT})
FALLBACK = RETRYABLE | {Failure.CONNECT, Failure.BAD_RESPONSE, Failure.BLOCKED, Failure.AUTH}


class UpstreamError(Exception):
    def __init__(
        self,
        kind: Failure,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def falls_back(self) -> bool:
        return self.kind in FALLBACK


class Adapter(Protocol):
    async def complete(self, call: Call) -> Reply: ...

    def stream(self, call: Call) -> AsyncIterator[Json]:
        """An async generator of chunks; raises UpstreamError where the stream fails."""
        ...

    async def embed(self, call: Call) -> Reply: ...


def tokens_of(usage: Json | None) -> Tokens | None:
    """OpenAI's `usage` object as Tokens (cached and reasoning details included)."""
    if not isinstance(usage, dict):
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    try:
        # clamped: an upstream reporting negative counts must not refund a budget
        return Tokens(
            prompt=max(0, int(usage.get("prompt_tokens") or 0)),
            completion=max(0, int(usage.get("completion_tokens") or 0)),
            cached=max(0, int(prompt_details.get("cached_tokens") or 0)),
            reasoning=max(0, int(completion_details.get("reasoning_tokens") or 0)),
        )
    except (TypeError, ValueError, AttributeError, OverflowError):
        return None
