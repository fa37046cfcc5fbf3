"""Kafka request/reply: `LlmRequest` in, exactly one `LlmResponse` out per request id.

The consumer's held unit of work only claims the request id (with the inbox), so a slow
model never holds a partition: the call runs in a background task, bounded by
`kafka_workers`, that first waits for the claim to commit (an advisory lock the claim
holds until its transaction ends), and answers in a unit of work of its own. A request id
seen before is answered from its record and never called twice upstream: done -> the
stored response again; pending and fresh -> nothing (its call is running); pending past
`kafka_request_lease`, or claimed by a process that is dead (instance.py) -> "interrupted"
(a crash between claim and answer). The sweep (at startup, then every minute) answers the
dead processes' claims without waiting for a redelivery, and marks their `started` call
traces interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import (
    RESPONSES_TOPIC,
    LlmError,
    LlmErrorCode,
    LlmRequest,
    LlmResponse,
)
from agentsuite_contracts.registry import REGISTRY
from agentsuite_contracts.topic_names import REPLY_TOPICS
from agentsuite_kit.jobs import Handler, Job
from agentsuite_kit.storable import escaped
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.domain.errors import GatewayError
from agentsuite_llm_gateway.gateway import Options
from agentsuite_llm_gateway.handlers.request_mapping import (
    caller_of,
    chat_body,
    error_response,
    failure_response,
    ok_response,
)
from agentsuite_llm_gateway.instance import NAMESPACE, lock_key
from agentsuite_llm_gateway.repositories.requests import DONE, RequestRow
from agentsuite_llm_gateway.trace_rows import interrupted_rollup
from agentsuite_llm_gateway.uow import GatewayUow

log = logging.getLogger(__name__)

SWEEP = "llm.requests.sweep"
SWEEP_CRON = "* * * * *"
INTERRUPTED = "interrupted; retry with a new request_id"
_ANSWER_BACKOFF = (0.2, 1.0, 5.0, 15.0, 30.0)


def reply_topic_allowed(name: str, requester: str) -> bool:
    """Whether to answer `requester` on `name`: the shared topic, or the requester's own
    registered reply topic. Nothing else: a request may come from any producer, and the
    gateway must not write where the request says (another contract's topic, another
    requester's answers, any topic the broker happens to know)."""
    if name == RESPONSES_TOPIC:
        return True
    return name == REPLY_TOPICS.get(requester) and REGISTRY.home_of(name) is not None


class RequestWorker:
    """One per process: the handler of `LlmRequest`, its background calls, the sweeper."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._slots = asyncio.Semaphore(deps.settings.kafka_workers)
        self._running: dict[UUID, asyncio.Task[None]] = {}

    # --- the consumer's handler ----------------------------------------------------------

    async def handle(self, envelope: Envelope[Any], uow: GatewayUow) -> None:
        received = time.monotonic()
        request: LlmRequest = envelope.payload
        tenant = envelope.tenant_id
        if tenant is None:
            # no tenant to bill or scope by: a malformed command, retried then dead-lettered
            raise ValueError("llm request without tenant_id")
        lease = self.deps.settings.kafka_request_lease
        rid = request.request_id
        topic = self._reply_to(request)
        # a claim names a process that holds its liveness lock, or none could tell it died
        await self.deps.instance.ensure()
        if not await uow.requests.claim(rid, request.requester, topic, self.deps.instance.id):
            row = await uow.requests.load(rid, lease)
            if row is None:
                # the id is another tenant's: answer (where this request may be answered),
                # but touch nothing of theirs
                uow.emit(
                    error_response(request, LlmErrorCode.INVALID_REQUEST, "request_id in use", 0),
                    topic=topic,
                )
            elif row.status == DONE and row.response is not None:
                replay = LlmResponse.model_validate(row.response)
                uow.emit(replay, topic=row.reply_to)
            elif rid not in self._running and (row.stale or await self._orphan(uow, row)):
                late = error_response(request, LlmErrorCode.INTERRUPTED, INTERRUPTED, 0, True)
                await self._store(uow, late, row.reply_to)
            # else: pending and fresh, its call is running (here or in another process)
            await uow.commit()
            return
        if _past(request):
            self._late(tenant, envelope)
            late = error_response(request, LlmErrorCode.DEADLINE_EXCEEDED, "deadline passed", 0)
            await self._store(uow, late, topic)
            await uow.commit()
            return
        await uow.commit()
        # the task copies this context: its answer carries the request's correlation
        task = asyncio.create_task(
            self._serve(tenant, envelope, topic, received), name=f"llm-request-{rid}"
        )
        self._running[rid] = task
        task.add_done_callback(lambda _: self._running.pop(rid, None))

    def _reply_to(self, request: LlmRequest) -> str:
        wanted = request.reply_to
        if not reply_topic_allowed(wanted, request.requester):
            log.warning(
                "llm request %s of %r: reply_to %r refused, answering on %s",
                request.request_id,
                request.requester,
                wanted,
                RESPONSES_TOPIC,
            )
            return RESPONSES_TOPIC
        return wanted

    # --- the call, off the consumer ------------------------------------------------------

    async def _serve(
        self, tenant: UUID, envelope: Envelope[Any], topic: str, received: float
    ) -> None:
        request: LlmRequest = envelope.payload
        try:
            async with self.deps.uow(tenant) as uow:
                status = await uow.requests.await_claim(request.request_id)
                await uow.commit()
            if status != "pending":
                return  # the claim rolled back: the redelivery will claim it again
            async with self._slots:
                response = await self._complete(tenant, envelope, received)
            await self._answer(tenant, response, topic)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("llm request %s: serving failed", request.request_id)

    async def _complete(
        self, tenant: UUID, envelope: Envelope[Any], received: float
    ) -> LlmResponse:
        request: LlmRequest = envelope.payload

        def elapsed() -> int:
            return int((time.monotonic() - received) * 1000)

        if _past(request):
            self._late(tenant, envelope)
            return error_response(
                request, LlmErrorCode.DEADLINE_EXCEEDED, "deadline passed", elapsed()
            )
        cap = request.budget.max_cost if request.budget is not None else None
        options = Options(
            request_id=request.request_id,
            max_cost_micros=cap.amount_micros if cap is not None else None,
            cache=request.cache,
            labels=dict(request.labels),
        )
        try:
            outcome = await self.deps.gateway.chat(
                caller_of(tenant, envelope), chat_body(request), options
            )
        except GatewayError as exc:
            return failure_response(request, exc, elapsed())
        except Exception:
            log.exception("llm request %s: the gateway failed", request.request_id)
            return error_response(
                request, LlmErrorCode.PROVIDER_ERROR, "gateway error", elapsed(), True
            )
        return ok_response(request, outcome, elapsed())

    def _late(self, tenant: UUID, envelope: Envelope[Any]) -> None:
        """A request past its deadline is refused without a call: traced all the same."""
        request: LlmRequest = envelope.payload
        options = Options(request_id=request.request_id, labels=dict(request.labels))
        self.deps.gateway.outcomes.turned_away(
            caller_of(tenant, envelope),
            options,
            request.model,
            LlmErrorCode.DEADLINE_EXCEEDED.value,
        )

    async def _answer(self, tenant: UUID, response: LlmResponse, topic: str) -> None:
        """Store and emit; retried while the database is away (the sweeper is the backstop)."""
        for delay in (*_ANSWER_BACKOFF, None):
            try:
                async with self.deps.uow(tenant) as uow:
                    await self._store(uow, response, topic)
                    await uow.commit()
                return
            except Exception:
                if delay is None:
                    raise
                log.warning("llm request %s: answer not stored, retrying", response.request_id)
                await asyncio.sleep(delay)

    @staticmethod
    async def _store(uow: GatewayUow, response: LlmResponse, topic: str) -> None:
        # only the first answer of a request goes out: a late call after the sweeper
        # answered "interrupted" (or the reverse) finds the row done and says nothing
        dumped = response.model_dump(mode="json")
        kept = escaped(dumped)
        if kept is not dumped:
            # an upstream answer with a NUL: stored and sent escaped (`\u0000` spelled
            # out), as the requester must store it too; refusing it would waste a paid call
            response = LlmResponse.model_validate(kept)
        if await uow.requests.answer(response.request_id, kept):
            uow.emit(response, topic=topic)

    # --- recovery ------------------------------------------------------------------------

    async def _orphan(self, uow: GatewayUow, row: RequestRow) -> bool:
        """Whether `row` was claimed by another process that is dead now."""
        owner = row.instance_id
        if owner is None or owner == self.deps.instance.id:
            return False
        return not await uow.requests.alive(NAMESPACE, [lock_key(owner)])

    async def _dead(self, uow: GatewayUow, instances: Iterable[UUID]) -> set[UUID]:
        keys = {i: lock_key(i) for i in instances}
        alive = await uow.requests.alive(NAMESPACE, keys.values())
        return {i for i, k in keys.items() if k not in alive}

    async def sweep(self) -> int:
        """Answer "interrupted" every request pending past the lease or claimed by a dead
        process, and mark dead processes' started calls interrupted; how many answered."""
        lease = self.deps.settings.kafka_request_lease
        with contextlib.suppress(Exception):  # the database away: the lease still holds
            await self.deps.instance.check()
        mine = self.deps.instance.id  # after the check: it may have taken a new one
        async with self.deps.uow(None) as every:
            stale = await every.requests.stale(lease)
            # the dead among the claimants first, then their claims: the oldest claims
            # of every process would be the live ones' whenever those hold many
            dead = await self._dead(every, await every.requests.claimants(mine))
            held = await every.requests.held_by(sorted(dead))
            orphans = [(rid, tenant) for rid, tenant, _ in held]
            dead |= await self._dead(every, await every.calls.started_elsewhere(mine))
            cut = await every.calls.interrupt(sorted(dead))
            # attempts all the same: counted in /v1/usage as errors at cost 0
            await every.usage.add(interrupted_rollup(cut))
            await every.commit()
        if cut:
            log.warning("llm calls: %d calls of dead gateway processes interrupted", len(cut))
        answered = 0
        for rid, tenant in dict.fromkeys([*orphans, *stale]):
            if rid in self._running:
                continue  # alive in this process: slow, not lost
            async with self.deps.uow(tenant) as uow:
                row = await uow.requests.load(rid, lease)
                if row is None or row.status == DONE:
                    continue
                if not row.stale and row.instance_id not in dead:
                    continue
                late = LlmResponse(
                    request_id=rid,
                    requester=row.requester,
                    status="error",
                    latency_ms=0,
                    error=LlmError(
                        code=LlmErrorCode.INTERRUPTED, message=INTERRUPTED, retryable=True
                    ),
                )
                await self._store(uow, late, row.reply_to)
                await uow.commit()
                answered += 1
        if answered:
            log.warning("llm requests: %d interrupted requests answered", answered)
        return answered

    async def aclose(self) -> None:
        """Stop the running calls (their requests are answered "interrupted" by the
        sweep of the next process, or of a live one, once this one's lock is gone)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def idle(self) -> None:
        """Wait for the calls running now (tests, graceful stops)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)


def _past(request: LlmRequest) -> bool:
    return request.deadline is not None and request.deadline <= datetime.now(UTC)


_WORKERS: dict[int, RequestWorker] = {}


def worker(deps: Deps) -> RequestWorker:
    """The process's worker for `deps` (one per Deps)."""
    found = _WORKERS.get(id(deps))
    if found is None or found.deps is not deps:
        found = _WORKERS[id(deps)] = RequestWorker(deps)
    return found


async def recover(deps: Deps) -> int:
    """At startup: answer the requests a crashed process claimed and never answered."""
    return await worker(deps).sweep()


def jobs(deps: Deps) -> dict[str, Handler[GatewayUow]]:
    """`llm.requests.sweep`: the tenantless minutely sweep of stale pending requests."""

    async def run_sweep(job: Job, _: GatewayUow) -> None:
        await worker(deps).sweep()

    return {SWEEP: run_sweep}


async def schedule_sweep(uow: GatewayUow) -> None:
    """Register the sweep (idempotent: one row by key). Run at startup."""
    await uow.jobs.schedule(SWEEP, cron=SWEEP_CRON, key=SWEEP)
