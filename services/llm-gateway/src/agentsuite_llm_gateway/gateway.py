"""The request path: prompt, route, budget, upstream with retries and fallbacks, trace.

One `Gateway` per process; every entrypoint (the OpenAI routes, the Kafka consumer) calls
`chat`, `stream` or `embed`. A request is prepared once (`_prepare`: the prompt rendered,
the tenant's catalogue read from memory, the route planned, the estimate made), then tried
model by model (`_attempt`: the breaker asked, retries with backoff on 429/5xx/timeouts, a
fallback to the next model on those and on connection or response faults), and recorded
off the hot path whatever happened (`Recorder.record`). A budget is touched only when the
caller has one: the reservation is one short transaction, settled by the recorder's flush.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_llm_gateway.budgets import BudgetExhausted, Reservation
from agentsuite_llm_gateway.domain import asks
from agentsuite_llm_gateway.domain.budgets import output_reservation
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Catalog, Exhaust, Model
from agentsuite_llm_gateway.domain.costs import MILLION, Tokens, cost_micros, estimate_micros
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.routing import Ask, Route, plan
from agentsuite_llm_gateway.domain.traces import Attempt, Trace
from agentsuite_llm_gateway.upstream.base import Call, Failure, Reply, UpstreamError

if TYPE_CHECKING:
    from agentsuite_llm_gateway.deps import Deps

Json = dict[str, Any]
T = TypeVar("T")

# members of a request that only the gateway reads; never sent upstream
GATEWAY_MEMBERS = ("prompt", "agentsuite")


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
    attempts: list[Attempt] = field(default_factory=list)


def money(micros: int) -> str:
    """Micro-units as a decimal string of currency units: 1250000 -> "1.25"."""
    return str((Decimal(micros) / MILLION).normalize() if micros else Decimal(0))


def elapsed_ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)


class Gateway:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.rng = random.Random()  # noqa: S311  # routing weights, not secrets

    # --- entrypoints -------------------------------------------------------------------------

    async def chat(self, caller: Caller, body: Json, options: Options) -> Outcome:
        """Complete `body` (an OpenAI chat request, maybe with a `prompt` reference);
        GatewayError when refused or when every route failed."""
        job = await self._prepare(caller, body, options, needs=asks.needs(body))
        try:
            hit = await self._cached(job)
            if hit is not None:
                return hit
            reply, model = await self._attempts(job, lambda adapter, call: adapter.complete(call))
        except GatewayError as exc:
            self._record_error(job, exc)
            raise
        except asyncio.CancelledError:
            self._record_cancelled(job)
            raise
        outcome = self._finish(job, reply, model)
        if options.cache:
            await self._store(job, outcome)
        return outcome

    async def embed(self, caller: Caller, body: Json, options: Options) -> Outcome:
        job = await self._prepare(caller, body, options, needs=frozenset({"embeddings"}))
        try:
            reply, model = await self._attempts(job, lambda adapter, call: adapter.embed(call))
        except GatewayError as exc:
            self._record_error(job, exc)
            raise
        except asyncio.CancelledError:
            self._record_cancelled(job)
            raise
        return self._finish(job, reply, model)

    async def stream(self, caller: Caller, body: Json, options: Options) -> AsyncIterator[bytes]:
        """SSE bytes; the first token is already in hand when this returns, so a stream
        that fails before it falls back like any other call."""
        from agentsuite_llm_gateway.streaming import open_stream

        job = await self._prepare(caller, body, options, needs=asks.needs(body))
        return await open_stream(self, job)

    # --- preparation -------------------------------------------------------------------------

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
            rendered = await self.deps.prompts.resolve(caller.tenant_id, reference)
            prompt_id, prompt_version = rendered.prompt_id, rendered.version
            body = {**rendered.params, **body}
            body["messages"] = [*rendered.messages, *(body.get("messages") or [])]
            if body.get("model") is None and rendered.model is not None:
                body["model"] = rendered.model
        embeddings = "embeddings" in needs
        if embeddings:
            prompt_tokens, max_output, n = asks.embedding_bound(body.get("input")), 0, 1
        else:
            asks.check_chat(body)
            prompt_tokens = asks.input_bound(body)
            max_output, n = asks.output_asked(body), asks.choices(body)
        catalog = await self.deps.catalogs.get(caller.tenant_id)
        requested = body.get("model")
        ask = Ask(
            requested=requested if isinstance(requested, str) and requested else None,
            caller=caller,
            needs=needs,
            prompt_tokens=prompt_tokens,
            max_output=max_output,
            max_cost_micros=options.max_cost_micros,
        )
        route = plan(catalog, ask, self.rng)
        if n > 1 and options.max_cost_micros is not None:
            route = _within_cap(route, ask, n, at)
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

    # --- budgets -------------------------------------------------------------------------

    def _bounded(self, job: Prepared) -> bool:
        """Whether this call must not outspend its estimate (a budget or a cost cap)."""
        return job.options.max_cost_micros is not None or bool(
            job.catalog.budgets_for(job.caller.subjects())
        )

    def _output_cap(self, job: Prepared, model: Model) -> int:
        """Output tokens each choice may produce (embeddings produce none)."""
        return 0 if job.embeddings else output_reservation(job.max_output, model.max_output)

    async def _reserve(self, job: Prepared, model: Model) -> Model:
        """Hold the budget `model`'s estimate needs (swapping a smaller hold taken for an
        earlier model); a budget that says downgrade routes to its cheaper model instead."""
        rules = job.catalog.budgets_for(job.caller.subjects())
        if not rules or job.reserved_for == model.name:
            return model
        output = self._output_cap(job, model) * job.choices
        tokens = job.prompt_tokens + output
        micros = estimate_micros(model.price_at(job.at), job.prompt_tokens, output)
        if job.reservation is not None:
            if job.reservation.tokens >= tokens and job.reservation.micros >= micros:
                job.reserved_for = model.name
                return model
            await self.deps.budgets.release(job.caller.tenant_id, job.reservation)
            job.reservation = None
        try:
            job.reservation = await self.deps.budgets.reserve(job.caller, rules, tokens, micros)
        except BudgetExhausted as exc:
            rule = exc.rule
            if rule.on_exhaust is Exhaust.DOWNGRADE and rule.downgrade_to is not None:
                cheaper = self._downgrade(job, rule.downgrade_to, model)
                if cheaper is not None:
                    return await self._reserve(job, cheaper)
            raise GatewayError(Code.BUDGET_EXCEEDED, str(exc)) from None
        job.reserved_for = model.name
        return model

    def _downgrade(self, job: Prepared, target: str, current: Model) -> Model | None:
        ask = Ask(
            requested=target,
            caller=job.caller,
            needs=frozenset({"embeddings"}) if job.embeddings else asks.needs(job.body),
            prompt_tokens=job.prompt_tokens,
            max_output=job.max_output,
            max_cost_micros=job.options.max_cost_micros,
        )
        try:
            route = plan(job.catalog, ask, self.rng)
        except GatewayError:
            return None
        cheaper = route.candidates[0]
        return None if cheaper.name == current.name else cheaper

    # --- attempts ------------------------------------------------------------------------

    async def _attempts(
        self, job: Prepared, send: Callable[[Any, Call], Awaitable[T]]
    ) -> tuple[T, Model]:
        """Try each candidate (retrying the retryable) until one answers."""
        last: UpstreamError | None = None
        for candidate in job.route.candidates:
            model = await self._reserve(job, candidate)
            try:
                # inside: a credential that no longer decrypts fails this provider only
                call = self._call(job, model, self.settings.upstream_timeout)
                return await self._retrying(job, model, call, send), model
            except UpstreamError as exc:
                last = exc
                if not _falls_back(exc):
                    raise _refused(exc) from None
        raise _exhausted(last)

    def _call(self, job: Prepared, model: Model, timeout: float) -> Call:
        body = job.body
        if self._bounded(job) and not job.embeddings:
            # the reservation covers this many output tokens: the provider may not exceed it
            body = asks.bound_output(body, self._output_cap(job, model))
        credential = self.deps.upstreams.credential(job.caller.tenant_id, model.provider)
        return Call(model=model, body=body, credential=credential, timeout=timeout)

    async def _retrying(
        self, job: Prepared, model: Model, call: Call, send: Callable[[Any, Call], Awaitable[T]]
    ) -> T:
        breakers = self.deps.breakers
        # per provider row, not name: two tenants' `openai` providers are two upstreams
        key = str(model.provider.provider_id)
        name = model.provider.name
        adapter = self.deps.upstreams.adapter(model.provider)
        for attempt in range(self.settings.retries + 1):
            if not breakers.allow(key):
                job.attempts.append(Attempt(model.name, name, "breaker_open", 0))
                raise UpstreamError(Failure.CONNECT, f"provider {name}: circuit open")
            began = time.perf_counter()
            try:
                result = await send(adapter, call)
            except asyncio.CancelledError:
                breakers.release(key)  # the client left: no verdict on the provider
                raise
            except UpstreamError as exc:
                job.attempts.append(
                    Attempt(model.name, name, exc.kind.value, elapsed_ms(began), exc.message)
                )
                if exc.kind is Failure.REFUSED:
                    breakers.release(key)  # the provider is fine; a half-open probe ends
                else:
                    breakers.failure(key)
                if not exc.retryable or attempt == self.settings.retries:
                    raise
                await asyncio.sleep(self._backoff(attempt, exc.retry_after))
                continue
            breakers.success(key)
            job.attempts.append(Attempt(model.name, name, "ok", elapsed_ms(began)))
            return result
        raise AssertionError("unreachable")  # the loop returns or raises

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = self.settings.retry_backoff * (2**attempt)
        if retry_after is not None:
            # honour the provider's ask, but never park a request longer than the timeout
            base = min(max(base, retry_after), self.settings.upstream_timeout)
        return float(base * (0.5 + self.rng.random() / 2))

    # --- results -------------------------------------------------------------------------

    def _finish(self, job: Prepared, reply: Reply, model: Model) -> Outcome:
        price = model.price_at(job.at)
        cost = cost_micros(price, reply.tokens)
        currency = price.currency if price is not None else "USD"
        latency = elapsed_ms(job.started)
        body = dict(reply.body)
        body["model"] = model.name
        body["agentsuite"] = self.extension(job, model, cost, currency, cached=False)
        self.record(job, model, "ok", reply.tokens, cost, currency, latency)
        return Outcome(body, model.name, model.provider.name, reply.tokens, cost, currency, latency)

    def extension(
        self, job: Prepared, model: Model | None, cost: int, currency: str, *, cached: bool
    ) -> Json:
        """The `agentsuite` member of a reply: what was charged, to whom, and how."""
        return {
            "request_id": str(job.options.request_id),
            "model": model.name if model is not None else None,
            "provider": model.provider.name if model is not None else None,
            "cost_micros": cost,
            "cost": money(cost),
            "currency": currency,
            "run_id": job.caller.run_id,
            "cached": cached,
            "prompt": None
            if job.prompt_id is None
            else {"id": str(job.prompt_id), "version": job.prompt_version},
            "attempts": [a.as_json() for a in job.attempts],
        }

    def record(
        self,
        job: Prepared,
        model: Model | None,
        status: str,
        tokens: Tokens,
        cost: int,
        currency: str,
        latency: int,
        *,
        ttft: int | None = None,
        stream: bool = False,
        cached: bool = False,
        error: str | None = None,
    ) -> None:
        self.deps.recorder.record(
            Trace(
                call_id=uuid7(),  # time-ordered: a lookup by id prunes to its month
                request_id=job.options.request_id,
                at=job.at,
                caller=job.caller,
                requested=job.route.requested,
                model=model.name if model is not None else None,
                provider=model.provider.name if model is not None else None,
                status=status,
                tokens=tokens,
                cost_micros=cost,
                currency=currency,
                latency_ms=latency,
                ttft_ms=ttft,
                stream=stream,
                cached=cached,
                error_code=error,
                prompt_id=job.prompt_id,
                prompt_version=job.prompt_version,
                attempts=tuple(job.attempts),
                labels=job.options.labels,
                reservation_id=None if job.reservation is None else job.reservation.reservation_id,
            )
        )

    def _record_error(self, job: Prepared, exc: GatewayError, *, stream: bool = False) -> None:
        last = job.route.candidates[0] if job.route.candidates else None
        tried = {m.name: m for m in job.route.candidates}
        if job.attempts:
            last = tried.get(job.attempts[-1].model, last)
        self.record(
            job,
            last,
            "error",
            Tokens(),
            0,
            "USD",
            elapsed_ms(job.started),
            stream=stream,
            error=exc.code.value,
        )

    def _record_cancelled(self, job: Prepared) -> None:
        """A call abandoned mid-flight (shutdown, a client gone): the provider may bill it,
        so it is traced, and settled at what was reserved for it."""
        held = job.reservation
        tokens = Tokens(prompt=held.tokens) if held is not None else Tokens()
        model = job.catalog.models.get(job.reserved_for or "")
        self.record(
            job,
            model,
            "error",
            tokens,
            held.micros if held is not None else 0,
            "USD",
            elapsed_ms(job.started),
            error="cancelled",
        )

    # --- cache ---------------------------------------------------------------------------

    def _cache_key(self, job: Prepared) -> bytes:
        version = None if job.prompt_id is None else f"{job.prompt_id}:{job.prompt_version}"
        return self.deps.cache.key(job.route.requested, version, job.body)

    async def _cached(self, job: Prepared, *, stream: bool = False) -> Outcome | None:
        if not job.options.cache:
            return None
        body = await self.deps.cache.get(
            job.caller.tenant_id, self._cache_key(job), job.caller.run_id or ""
        )
        if body is None:
            return None
        name = str(body.get("model", job.route.requested))
        model = job.catalog.models.get(name)
        latency = elapsed_ms(job.started)
        body = dict(body)
        body["agentsuite"] = self.extension(job, model, 0, "USD", cached=True)
        self.record(job, model, "ok", Tokens(), 0, "USD", latency, stream=stream, cached=True)
        provider = model.provider.name if model is not None else ""
        return Outcome(body, name, provider, Tokens(), 0, "USD", latency, cached=True)

    async def _store(self, job: Prepared, outcome: Outcome) -> None:
        body = {k: v for k, v in outcome.body.items() if k != "agentsuite"}
        ttl = job.options.cache_ttl or self.settings.cache_ttl
        await self.deps.cache.put(
            job.caller.tenant_id,
            self._cache_key(job),
            job.caller.run_id or "",
            outcome.model,
            body,
            ttl,
        )


def _within_cap(route: Route, ask: Ask, n: int, at: datetime) -> Route:
    """The route's models whose estimate for all `n` choices fits the cost cap."""
    cap = ask.max_cost_micros or 0
    fitting = tuple(
        m
        for m in route.candidates
        if estimate_micros(
            m.price_at(at), ask.prompt_tokens, n * output_reservation(ask.max_output, m.max_output)
        )
        <= cap
    )
    if not fitting:
        raise GatewayError(
            Code.COST_CAP,
            f"no model of `{route.requested}` can answer {n} choices within the cost cap",
            param="max_cost",
        )
    return Route(route.requested, fitting)


def _falls_back(exc: UpstreamError) -> bool:
    if exc.falls_back:
        return True
    # a provider refusing the input as too long: a bigger window later in the list may fit
    return exc.kind is Failure.REFUSED and "context" in exc.message.lower()


def _refused(exc: UpstreamError) -> GatewayError:
    status = exc.status if exc.status is not None and 400 <= exc.status < 500 else 400
    return GatewayError(
        Code.INVALID_REQUEST,
        f"the provider refused the request: {exc.message}",
        status=status,
        provider_status=exc.status,
    )


def _exhausted(last: UpstreamError | None) -> GatewayError:
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
