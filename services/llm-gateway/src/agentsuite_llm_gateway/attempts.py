"""One model's try at a request, as calls and streams both make it: its budget reserved,
its breaker asked, its outcome told to the breaker and the request's attempts, the backoff
before the next try; and what a failed try becomes (another model, or the GatewayError the
client reads).

The gateway (gateway.py) and the streams (streaming.py) share this; neither knows the other
beyond it.
"""

from __future__ import annotations

import random

from agentsuite_kit.storable import escape_text
from agentsuite_llm_gateway import reserving
from agentsuite_llm_gateway.budgets import BudgetGate
from agentsuite_llm_gateway.domain import asks
from agentsuite_llm_gateway.domain.breaker import Breakers
from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.traces import Attempt
from agentsuite_llm_gateway.prepared import Prepared, elapsed_ms
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.upstream.base import Adapter, Call, Failure, UpstreamError
from agentsuite_llm_gateway.upstream.pool import Upstreams


class Attempts:
    def __init__(
        self,
        settings: GatewaySettings,
        budgets: BudgetGate,
        upstreams: Upstreams,
        breakers: Breakers,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.budgets = budgets
        self.upstreams = upstreams
        self.breakers = breakers
        self.rng = rng

    async def reserve(self, job: Prepared, model: Model) -> Model:
        return await reserving.reserve(self.budgets, job, model, self.rng)

    def adapter(self, model: Model) -> Adapter:
        return self.upstreams.adapter(model.provider)

    def call(self, job: Prepared, model: Model, timeout: float) -> Call:
        body = job.body
        if reserving.bounded(job) and not job.embeddings:
            # the reservation covers this many output tokens: the provider may not exceed it
            body = asks.bound_output(body, reserving.output_cap(job, model))
        credential = self.upstreams.credential(job.caller.tenant_id, model.provider)
        return Call(model=model, body=body, credential=credential, timeout=timeout)

    # per provider row, not name: two tenants' `openai` providers are two upstreams, and the
    # breaker's verdicts below are shared by calls and streams

    def admit(self, job: Prepared, model: Model) -> str:
        """The provider's breaker key, once its breaker lets one more try through."""
        key = str(model.provider.provider_id)
        if not self.breakers.allow(key):
            name = model.provider.name
            job.attempts.append(Attempt(model.name, name, "breaker_open", 0))
            raise UpstreamError(Failure.CONNECT, f"provider {name}: circuit open")
        return key

    def failed(
        self, job: Prepared, model: Model, key: str, exc: UpstreamError, began: float
    ) -> None:
        # the upstream's own words: kept escaped, as a trace with a NUL cannot be written
        error = escape_text(exc.message)
        job.attempts.append(
            Attempt(model.name, model.provider.name, exc.kind.value, elapsed_ms(began), error)
        )
        if exc.kind is Failure.REFUSED:
            self.breakers.release(key)  # the provider is fine; a half-open probe ends
        else:
            self.breakers.failure(key)

    def succeeded(self, job: Prepared, model: Model, key: str, began: float) -> None:
        self.breakers.success(key)
        job.attempts.append(Attempt(model.name, model.provider.name, "ok", elapsed_ms(began)))

    def abandoned(self, key: str) -> None:
        """The client left mid-try: no verdict on the provider."""
        self.breakers.release(key)

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        base = self.settings.retry_backoff * (2**attempt)
        if retry_after is not None:
            # honour the provider's ask, but never park a request longer than the timeout
            base = min(max(base, retry_after), self.settings.upstream_timeout)
        return float(base * (0.5 + self.rng.random() / 2))


def falls_back(exc: UpstreamError) -> bool:
    if exc.falls_back:
        return True
    # a provider refusing the input as too long: a bigger window later in the list may fit
    return exc.kind is Failure.REFUSED and "context" in exc.message.lower()


def refused(exc: UpstreamError) -> GatewayError:
    return GatewayError(
        Code.INVALID_REQUEST,
        f"the provider refused the request: {exc.message}",
        provider_status=exc.status,
    )


def exhausted(last: UpstreamError | None) -> GatewayError:
    if last is None:
        return GatewayError(Code.NO_ROUTE, "no model could take the request", retryable=True)
    code = {
        Failure.RATE_LIMITED: Code.RATE_LIMITED,
        Failure.TIMEOUT: Code.TIMEOUT,
    }.get(last.kind, Code.PROVIDER_ERROR)
    return GatewayError(
        code,
        f"every route failed; last: {last.message}",
        retryable=True,
        provider_status=last.status,
    )
