"""What a served request leaves behind: its reply's `agentsuite` member, its trace (handed to
the recorder, off the hot path, whatever happened) and its response-cache entry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.storable import unstorable
from agentsuite_llm_gateway.budgets import BudgetGate
from agentsuite_llm_gateway.cache import ResponseCache
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.costs import Tokens, cost_micros, units
from agentsuite_llm_gateway.domain.errors import GatewayError
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.instance import Instance
from agentsuite_llm_gateway.prepared import Json, Options, Outcome, Prepared, elapsed_ms
from agentsuite_llm_gateway.recorder import Recorder
from agentsuite_llm_gateway.repositories.calls import STARTED
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.trace_rows import call_row
from agentsuite_llm_gateway.uow import GatewayUow
from agentsuite_llm_gateway.upstream.base import Reply

log = logging.getLogger(__name__)

STARTED_WAIT = 2.0  # seconds a call waits, at most, for its `started` trace to be written
SETTLE_WAIT = 2.0  # seconds a finished call waits, at most, for its reservation's settlement


def extension(
    job: Prepared, model: Model | None, cost: int, currency: str, *, cached: bool
) -> Json:
    """The `agentsuite` member of a reply: what was charged, to whom, and how."""
    return {
        "request_id": str(job.options.request_id),
        "model": model.name if model is not None else None,
        "provider": model.provider.name if model is not None else None,
        "cost_micros": cost,
        "cost": units(cost),
        "currency": currency,
        "run_id": job.caller.run_id,
        "cached": cached,
        "prompt": None
        if job.prompt_id is None
        else {"id": str(job.prompt_id), "version": job.prompt_version},
        "attempts": [a.as_json() for a in job.attempts],
    }


class Outcomes:
    def __init__(
        self,
        settings: GatewaySettings,
        *,
        budgets: BudgetGate,
        recorder: Recorder,
        cache: ResponseCache,
        instance: Instance,
        uow: Callable[[UUID | None], GatewayUow],
    ) -> None:
        self.settings = settings
        self.budgets = budgets
        self.recorder = recorder
        self.cache = cache
        self.instance = instance
        self.uow = uow

    @contextlib.asynccontextmanager
    async def traced_failure(self, job: Prepared, *, stream: bool = False) -> AsyncIterator[None]:
        """A refused, failed or abandoned call is settled and traced before its error goes
        on (an abandoned one by the recorder's flush: its task is being cancelled)."""
        try:
            yield
        except GatewayError as exc:
            await self.error(job, exc, stream=stream)
            raise
        except asyncio.CancelledError:
            self.cancelled(job)
            raise
        except Exception:
            await self.crashed(job)
            raise

    async def settle(self, job: Prepared, tokens: Tokens, cost: int) -> None:
        """Settle the call's reservation as it ends, before its client has the answer, so
        the client's next call is not refused for a hold this one no longer needs. Best
        effort: a database that does not answer in SETTLE_WAIT leaves the reservation on
        the trace, and the recorder's flush settles it."""
        held = job.reservation
        if held is None or job.settled or not held.budget_ids:
            return
        try:
            async with asyncio.timeout(SETTLE_WAIT):
                await self.budgets.settle(
                    job.caller.tenant_id, held, tokens.total, cost, job.options.request_id
                )
        except Exception:  # the answer goes out; its trace settles the reservation later
            log.warning("call %s: reservation left to the recorder", job.call_id, exc_info=True)
            return
        job.settled = True

    async def finish(self, job: Prepared, reply: Reply, model: Model) -> Outcome:
        price = model.price_at(job.at)
        cost = cost_micros(price, reply.tokens)
        currency = price.currency if price is not None else "USD"
        await self.settle(job, reply.tokens, cost)
        latency = elapsed_ms(job.started)
        body = dict(reply.body)
        body["model"] = model.name
        body["agentsuite"] = extension(job, model, cost, currency, cached=False)
        self.recorder.record(self.trace(job, model, "ok", reply.tokens, cost, currency, latency))
        return Outcome(body, model.name, model.provider.name, reply.tokens, cost, currency, latency)

    def trace(
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
    ) -> Trace:
        """The call's trace as it stands."""
        return Trace(
            call_id=job.call_id,  # time-ordered: a lookup by id prunes to its month
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
            # settled already: the recorder's flush has nothing left to do for it
            reservation_id=None
            if job.reservation is None or job.settled
            else job.reservation.reservation_id,
            instance_id=self.instance.id,
        )

    async def started(self, job: Prepared, model: Model, *, stream: bool = False) -> None:
        """Before the first upstream call: the trace, `started`, committed, so a call its
        process never finishes (killed mid-call) is still seen, and marked interrupted by
        the sweep of a process that outlives it. Best effort: a database that does not
        answer delays the call by at most STARTED_WAIT, and the finished trace still goes
        through the recorder."""
        if job.begun:
            return
        job.begun = True
        row = call_row(self.trace(job, model, STARTED, Tokens(), 0, "USD", 0, stream=stream))
        try:
            async with asyncio.timeout(STARTED_WAIT):
                async with self.uow(job.caller.tenant_id) as uow:
                    await uow.calls.add_started(row)
                    await uow.commit()
        except Exception:  # the call goes on: its finished trace is what must not be lost
            log.warning("call %s: started trace not written", job.call_id, exc_info=True)

    def refused(
        self,
        caller: Caller,
        options: Options,
        requested: object,
        exc: GatewayError,
        *,
        stream: bool = False,
    ) -> None:
        """A call refused before it had a route (its body, its model, its size, its cost
        cap): an attempt all the same, so it is traced, at cost 0."""
        if exc.traced:
            return
        exc.traced = True
        self.turned_away(caller, options, requested, exc.code.value, stream=stream)

    def turned_away(
        self,
        caller: Caller,
        options: Options,
        requested: object,
        code: str,
        *,
        stream: bool = False,
    ) -> None:
        """The trace of a call refused before it had a route, by its error `code`."""
        self.recorder.record(
            Trace(
                call_id=uuid7(),
                request_id=options.request_id,
                at=datetime.now(UTC),
                caller=caller,
                requested=requested if isinstance(requested, str) else "",
                model=None,
                provider=None,
                status="error",
                tokens=Tokens(),
                cost_micros=0,
                currency="USD",
                latency_ms=0,
                stream=stream,
                error_code=code,
                labels=options.labels,
                instance_id=self.instance.id,
            )
        )

    async def error(self, job: Prepared, exc: GatewayError, *, stream: bool = False) -> None:
        exc.traced = True
        await self.settle(job, Tokens(), 0)  # nothing answered: the hold is given back
        last = job.route.candidates[0] if job.route.candidates else None
        tried = {m.name: m for m in job.route.candidates}
        if job.attempts:
            last = tried.get(job.attempts[-1].model, last)
        latency = elapsed_ms(job.started)
        self.recorder.record(
            self.trace(
                job, last, "error", Tokens(), 0, "USD", latency, stream=stream, error=exc.code.value
            )
        )

    async def crashed(self, job: Prepared) -> None:
        """A call that failed on a fault of the gateway itself: traced, so its `started`
        row does not stay started while its process lives on."""
        await self.settle(job, Tokens(), 0)
        latency = elapsed_ms(job.started)
        self.recorder.record(
            self.trace(job, None, "error", Tokens(), 0, "USD", latency, error="internal")
        )

    def cancelled(self, job: Prepared) -> None:
        """A call abandoned mid-flight (shutdown, a client gone): the provider may bill it,
        so it is traced, and settled at what was reserved for it."""
        held = job.reservation
        tokens = Tokens(prompt=held.tokens) if held is not None else Tokens()
        model = job.catalog.models.get(job.reserved_for or "")
        cost = held.micros if held is not None else 0
        latency = elapsed_ms(job.started)
        self.recorder.record(
            self.trace(job, model, "error", tokens, cost, "USD", latency, error="cancelled")
        )

    # --- cache ---------------------------------------------------------------------------

    def _cache_key(self, job: Prepared) -> bytes:
        version = None if job.prompt_id is None else f"{job.prompt_id}:{job.prompt_version}"
        return self.cache.key(job.route.requested, version, job.body)

    async def cached(self, job: Prepared, *, stream: bool = False) -> Outcome | None:
        if not job.options.cache:
            return None
        body = await self.cache.get(
            job.caller.tenant_id, self._cache_key(job), job.caller.run_id or ""
        )
        if body is None:
            return None
        name = str(body.get("model", job.route.requested))
        model = job.catalog.models.get(name)
        latency = elapsed_ms(job.started)
        body = dict(body)
        body["agentsuite"] = extension(job, model, 0, "USD", cached=True)
        self.recorder.record(
            self.trace(job, model, "ok", Tokens(), 0, "USD", latency, stream=stream, cached=True)
        )
        provider = model.provider.name if model is not None else ""
        return Outcome(body, name, provider, Tokens(), 0, "USD", latency, cached=True)

    async def store(self, job: Prepared, outcome: Outcome) -> None:
        body = {k: v for k, v in outcome.body.items() if k != "agentsuite"}
        found = unstorable(body)
        if found is not None:
            # an upstream answer PostgreSQL cannot hold (a NUL) is delivered as it came, not
            # cached: failing the INSERT here made a call already made and billed a 500
            log.info(
                "answer of %s not cached: %s %s", job.options.request_id, found.path, found.reason
            )
            return
        ttl = job.options.cache_ttl or self.settings.cache_ttl
        await self.cache.put(
            job.caller.tenant_id,
            self._cache_key(job),
            job.caller.run_id or "",
            outcome.model,
            body,
            ttl,
        )
