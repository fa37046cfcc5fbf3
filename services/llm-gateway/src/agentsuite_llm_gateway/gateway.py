"""The request path: prompt, route, budget, upstream with retries and fallbacks, trace.

One `Gateway` per process; every entrypoint (the OpenAI routes, the Kafka consumer) calls
`chat`, `stream` or `embed`. A request is prepared once (`_prepare`: the prompt rendered,
the tenant's catalogue read from memory, the route planned, the estimate made), then tried
model by model (`_attempts`, with attempts.py: the budget reserved, the breaker asked, retries
with backoff on 429/5xx/timeouts, a fallback to the next model on those and on connection or
response faults), and recorded off the hot path whatever happened (outcomes.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from agentsuite_kit.tokens import encoding_of
from agentsuite_llm_gateway import reserving
from agentsuite_llm_gateway.attempts import Attempts, exhausted, falls_back, refused
from agentsuite_llm_gateway.catalogs import Catalogs
from agentsuite_llm_gateway.domain import asks
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.routing import Ask, plan
from agentsuite_llm_gateway.outcomes import Outcomes
from agentsuite_llm_gateway.prepared import Json, Options, Outcome, Prepared
from agentsuite_llm_gateway.prompts import PromptResolver
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.streaming import open_stream
from agentsuite_llm_gateway.upstream.base import Call, UpstreamError

__all__ = ["GATEWAY_MEMBERS", "Gateway", "Options", "Outcome", "Prepared"]

T = TypeVar("T")

# members of a request that only the gateway reads; never sent upstream
GATEWAY_MEMBERS = ("prompt", "agentsuite")


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        prompts: PromptResolver,
        catalogs: Catalogs,
        attempts: Attempts,
        outcomes: Outcomes,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.prompts = prompts
        self.catalogs = catalogs
        self.attempts = attempts
        self.outcomes = outcomes
        self.rng = rng

    # --- entrypoints -------------------------------------------------------------------------

    async def chat(self, caller: Caller, body: Json, options: Options) -> Outcome:
        """Complete `body` (an OpenAI chat request, maybe with a `prompt` reference);
        GatewayError when refused or when every route failed."""
        job = await self.prepare(caller, body, options, needs=asks.needs(body))
        async with self.outcomes.traced_failure(job):
            hit = await self.outcomes.cached(job)
            if hit is not None:
                return hit
            reply, model = await self._attempts(job, lambda adapter, call: adapter.complete(call))
        outcome = await self.outcomes.finish(job, reply, model)
        if options.cache:
            await self.outcomes.store(job, outcome)
        return outcome

    async def embed(self, caller: Caller, body: Json, options: Options) -> Outcome:
        job = await self.prepare(caller, body, options, needs=frozenset({"embeddings"}))
        async with self.outcomes.traced_failure(job):
            reply, model = await self._attempts(job, lambda adapter, call: adapter.embed(call))
        return await self.outcomes.finish(job, reply, model)

    async def stream(self, caller: Caller, body: Json, options: Options) -> AsyncIterator[bytes]:
        """SSE bytes; the first token is already in hand when this returns, so a stream
        that fails before it falls back like any other call."""
        job = await self.prepare(caller, body, options, needs=asks.needs(body), stream=True)
        return await open_stream(self.attempts, self.outcomes, job)

    # --- preparation -------------------------------------------------------------------------

    async def prepare(
        self,
        caller: Caller,
        body: Json,
        options: Options,
        *,
        needs: frozenset[str],
        stream: bool = False,
    ) -> Prepared:
        """`_prepare`, its refusals (unknown model, too long, over the cost cap) traced."""
        try:
            return await self._prepare(caller, body, options, needs=needs)
        except GatewayError as exc:
            self.outcomes.refused(caller, options, body.get("model"), exc, stream=stream)
            raise

    async def _prepare(
        self, caller: Caller, body: Json, options: Options, *, needs: frozenset[str]
    ) -> Prepared:
        started = time.perf_counter()
        at = datetime.now(UTC)
        reference = body.get("prompt")
        body = {k: v for k, v in body.items() if k not in GATEWAY_MEMBERS}
        prompt_id: UUID | None = None
        prompt_version: int | None = None
        if reference is not None:
            if not isinstance(reference, dict):
                raise GatewayError(
                    Code.INVALID_REQUEST,
                    "prompt: an object {name, label | version, variables}",
                    param="prompt",
                )
            rendered = await self.prompts.resolve(caller.tenant_id, reference)
            prompt_id, prompt_version = rendered.prompt_id, rendered.version
            body = {**rendered.params, **body}
            body["messages"] = [*rendered.messages, *(body.get("messages") or [])]
            if body.get("model") is None and rendered.model is not None:
                body["model"] = rendered.model
        embeddings = "embeddings" in needs
        requested = body.get("model")
        named = requested if isinstance(requested, str) and requested else None
        if embeddings:
            prompt_tokens, max_output, n = asks.embedding_bound(body.get("input")), 0, 1
        else:
            asks.check_chat(body)
            # counted as the model asked for is (what execution's run budget reserves too)
            prompt_tokens = asks.input_bound(body, named)
            max_output, n = asks.output_asked(body), asks.choices(body)
        catalog = await self.catalogs.get(caller.tenant_id)
        ask = Ask(
            requested=named,
            caller=caller,
            needs=needs,
            prompt_tokens=prompt_tokens,
            max_output=max_output,
            max_cost_micros=options.max_cost_micros,
        )
        route = plan(catalog, ask, self.rng)
        family = encoding_of(named)
        if family is not None and any(encoding_of(m.upstream) != family for m in route.candidates):
            # a candidate runs another tokenizer (a tenant may name any upstream `gpt-4o`):
            # back to a token per byte, which bounds every tokenizer
            prompt_tokens = asks.input_bound(body)
            ask = dataclasses.replace(ask, prompt_tokens=prompt_tokens)
            route = plan(catalog, ask, self.rng)
        if n > 1 and options.max_cost_micros is not None:
            route = reserving.within_cap(route, ask, n, at)
        return Prepared(
            caller=caller,
            options=options,
            body=body,
            route=route,
            catalog=catalog,
            at=at,
            started=started,
            prompt_tokens=prompt_tokens,
            max_output=max_output,
            choices=n,
            embeddings=embeddings,
            prompt_id=prompt_id,
            prompt_version=prompt_version,
        )

    # --- attempts ------------------------------------------------------------------------

    async def _attempts(
        self, job: Prepared, send: Callable[[Any, Call], Awaitable[T]]
    ) -> tuple[T, Model]:
        """Try each candidate (retrying the retryable) until one answers."""
        last: UpstreamError | None = None
        for candidate in job.route.candidates:
            model = await self.attempts.reserve(job, candidate)
            await self.outcomes.started(job, model)
            try:
                # inside: a credential that no longer decrypts fails this provider only
                call = self.attempts.call(job, model, self.settings.upstream_timeout)
                return await self._retrying(job, model, call, send), model
            except UpstreamError as exc:
                last = exc
                if not falls_back(exc):
                    raise refused(exc) from None
        raise exhausted(last)

    async def _retrying(
        self, job: Prepared, model: Model, call: Call, send: Callable[[Any, Call], Awaitable[T]]
    ) -> T:
        tries = self.attempts
        adapter = tries.adapter(model)
        for attempt in range(self.settings.retries + 1):
            key = tries.admit(job, model)
            began = time.perf_counter()
            try:
                result = await send(adapter, call)
            except asyncio.CancelledError:
                tries.abandoned(key)  # the client left: no verdict on the provider
                raise
            except UpstreamError as exc:
                tries.failed(job, model, key, exc, began)
                if not exc.retryable or attempt == self.settings.retries:
                    raise
                await asyncio.sleep(tries.backoff(attempt, exc.retry_after))
                continue
            tries.succeeded(job, model, key, began)
            return result
        raise AssertionError("unreachable")  # the loop returns or raises
