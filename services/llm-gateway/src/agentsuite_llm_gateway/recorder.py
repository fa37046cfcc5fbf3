"""Traces off the hot path: `record()` queues; a background task writes batches (calls,
usage rollup, budget settlement, `llm.usage.v1`) in one transaction per tenant.

A request never waits on the database for its trace: `record()` appends to a bounded
in-memory queue and returns. The writer wakes every `trace_flush_interval` seconds, or as
soon as `trace_batch_size` traces wait. A batch that cannot be written (database down)
goes back to the queue and is retried with backoff, so a blip loses nothing; only a full
queue drops, and says so in a metric. A trace that keeps failing for a reason other than
the connection (a poison row) is isolated and, after a few tries alone, dropped loudly,
so it cannot block its tenant's other traces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.envelope import Actor, Subject
from agentsuite_contracts.llm import UsageRecorded
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.repositories.tables import USAGE_SUMS
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.settlement import settle
from agentsuite_llm_gateway.uow import GatewayUow

log = logging.getLogger(__name__)

# tries alone after which a trace that fails for a reason other than the connection is dropped
POISON_TRIES = 3
MAX_BACKOFF = 5.0
SHUTDOWN_FLUSH_SECONDS = 15.0


def _cut(value: str | None, size: int) -> str | None:
    # a name longer than its column would make the whole batch fail: keep its head
    return value if value is None or len(value) <= size else value[:size]


def prompt_key(trace: Trace) -> str:
    """The rollup's prompt column: "<id>:<version>", or "" without a stored prompt."""
    if trace.prompt_id is None:
        return ""
    return f"{trace.prompt_id}:{trace.prompt_version or 0}"


def day_of(at: datetime) -> datetime:
    """The UTC midnight starting `at`'s day (a naive `at` is taken as UTC)."""
    utc = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def usage_key(
    tenant: UUID,
    at: datetime,
    model: str,
    provider: str | None,
    api_key_id: UUID | None,
    user_id: UUID | None,
    prompt: str,
    status: str,
) -> tuple[Any, ...]:
    """A call's usage_daily row key: (tenant, day, model, provider, key, user, prompt,
    status), cut to the columns' sizes."""
    return (
        tenant,
        day_of(at),
        _cut(model, 128),
        _cut(provider or "", 64),
        "" if api_key_id is None else str(api_key_id),
        "" if user_id is None else str(user_id),
        prompt,
        _cut(status, 8),
    )


def _row(found: dict[tuple[Any, ...], dict[str, Any]], key: tuple[Any, ...]) -> dict[str, Any]:
    row = found.get(key)
    if row is None:
        names = ("tenant_id", "day", "model", "provider", "api_key_id", "user_id")
        row = dict(zip((*names, "prompt", "status"), key, strict=True))
        row.update(dict.fromkeys(USAGE_SUMS, 0))
        found[key] = row
    return row


def _in_lock_order(found: dict[tuple[Any, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    return [found[k] for k in sorted(found, key=lambda k: (str(k[0]), *k[1:]))]


def rollup(
    traces: Iterable[Trace], undone: Iterable[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The usage_daily rows a batch adds: one per (day, model, provider, key, user, prompt,
    status), sorted by that key (the lock order of the upsert). `undone`: calls counted as
    interrupted that these traces finish after all, taken back in the same upsert."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for u in undone:
        _row(found, _interrupted_key(u))["requests"] -= 1
    for t in traces:
        c = t.caller
        key = usage_key(
            c.tenant_id,
            t.at,
            t.model or t.requested,
            t.provider,
            c.api_key_id,
            c.user_id,
            prompt_key(t),
            t.status,
        )
        row = _row(found, key)
        row["requests"] += 1
        row["prompt_tokens"] += t.tokens.prompt
        row["completion_tokens"] += t.tokens.completion
        row["cached_tokens"] += t.tokens.cached
        row["reasoning_tokens"] += t.tokens.reasoning
        row["cost_micros"] += t.cost_micros
        row["latency_ms_sum"] += t.latency_ms
    return _in_lock_order(found)


def interrupted_rollup(calls: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The usage_daily rows of calls a dead process left `started` and a sweep marked
    interrupted: each an error call at cost 0, as a refusal is (no tokens were reported)."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for c in calls:
        _row(found, _interrupted_key(c))["requests"] += 1
    return _in_lock_order(found)


def _interrupted_key(c: Mapping[str, Any]) -> tuple[Any, ...]:
    prompt = "" if c["prompt_id"] is None else f"{c['prompt_id']}:{c['prompt_version'] or 0}"
    return usage_key(
        c["tenant_id"],
        c["created_at"],
        c["model"] or c["requested"],
        c["provider"],
        c["api_key_id"],
        c["user_id"],
        prompt,
        c["status"],
    )


def call_row(t: Trace) -> dict[str, Any]:
    c = t.caller
    return {
        "call_id": t.call_id,
        "tenant_id": c.tenant_id,
        "created_at": t.at,
        "request_id": t.request_id,
        "source": c.source,
        "requester": _cut(c.requester, 64),
        "api_key_id": c.api_key_id,
        "user_id": c.user_id,
        "org_id": c.org_id,
        "run_id": c.run_id,
        "requested": _cut(t.requested, 128),
        "model": _cut(t.model, 128),
        "provider": _cut(t.provider, 64),
        "prompt_id": t.prompt_id,
        "prompt_version": t.prompt_version,
        "status": _cut(t.status, 8),
        "error_code": _cut(t.error_code, 32),
        "prompt_tokens": t.tokens.prompt,
        "completion_tokens": t.tokens.completion,
        "cached_tokens": t.tokens.cached,
        "reasoning_tokens": t.tokens.reasoning,
        "cost_micros": t.cost_micros,
        "currency": t.currency,
        "latency_ms": t.latency_ms,
        "ttft_ms": t.ttft_ms,
        "stream": t.stream,
        "cached": t.cached,
        "attempts": [a.as_json() for a in t.attempts],
        "instance_id": t.instance_id,
    }


def usage_event(t: Trace) -> UsageRecorded:
    c = t.caller
    return UsageRecorded(
        request_id=t.request_id,
        requester=c.requester,
        user_id=c.user_id,
        model=t.model or t.requested,
        provider=t.provider or "",
        usage=Usage(
            prompt_tokens=t.tokens.prompt,
            completion_tokens=t.tokens.completion,
            total_tokens=t.tokens.total,
            cost=Money(amount_micros=t.cost_micros, currency=t.currency),
            cached_tokens=t.tokens.cached,
            reasoning_tokens=t.tokens.reasoning,
        ),
        latency_ms=max(t.latency_ms, 0),
        status="ok" if t.status == "ok" else "error",
        cached=t.cached,
        labels=dict(t.labels),
        run_id=c.run_id,
        api_key_id=c.api_key_id,
        prompt_id=t.prompt_id,
        prompt_version=t.prompt_version,
        requested=t.requested,
        error_code=t.error_code,
    )


def _actor(t: Trace) -> Actor:
    c = t.caller
    if c.api_key_id is not None:
        return Actor(kind="api_key", id=str(c.api_key_id))
    if c.user_id is not None:
        return Actor(kind="user", id=str(c.user_id))
    if c.source == "kafka":
        return Actor(kind="service", id=c.requester)
    return Actor(kind="system", id="llm-gateway")


def transient(exc: BaseException) -> bool:
    """A failure of the connection (retry the batch as it is), not of the batch's rows."""
    if isinstance(exc, OSError | TimeoutError | InterfaceError | OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


async def write(uow: GatewayUow, traces: Sequence[Trace]) -> int:
    """Record one tenant's traces in `uow` and commit; how many were new."""
    added = await uow.calls.add_new([call_row(t) for t in traces])
    fresh = [t for t in traces if t.call_id in added.ids]
    await uow.usage.add(rollup(fresh, undone=added.undone))
    for t in fresh:
        if t.reservation_id is not None:
            await settle(uow, t.reservation_id, t.tokens.total, t.cost_micros, t.request_id)
        uow.emit(
            usage_event(t), subject=Subject(type="llm_call", id=str(t.call_id)), actor=_actor(t)
        )
    await uow.commit()
    return len(fresh)


class Recorder:
    def __init__(self, settings: GatewaySettings, uow: Callable[[UUID | None], GatewayUow]) -> None:
        self.settings = settings
        self._uow = uow
        self._queue: deque[Trace] = deque()
        self._alone: dict[UUID, int] = {}  # suspected poison: call id -> failed tries alone
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last_drop_log = 0.0
        self._drops_unlogged = 0
        # unregistered until `register()`: Deps builds the recorder before the runtime
        self.dropped = Counter(
            "llm_gateway_traces_dropped",
            "Traces not recorded, by reason (queue_full, poison).",
            ["reason"],
            registry=None,
        )
        self.written = Counter(
            "llm_gateway_traces_written", "Traces written to the database.", registry=None
        )
        self.flush_failures = Counter(
            "llm_gateway_trace_flush_failures",
            "Tenant batches that failed to write.",
            registry=None,
        )
        self.queued = Gauge(
            "llm_gateway_traces_queued", "Traces waiting to be written.", registry=None
        )
        self.queued.set_function(lambda: len(self._queue))

    def register(self, registry: CollectorRegistry) -> None:
        """Expose the recorder's series on the service's /metrics registry."""
        for collector in (self.dropped, self.written, self.flush_failures, self.queued):
            registry.register(collector)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def record(self, trace: Trace) -> None:
        """Queue `trace`; never blocks, never raises."""
        if len(self._queue) >= self.settings.trace_queue_max:
            self._drop(1)
            return
        self._queue.append(trace)
        if len(self._queue) >= self.settings.trace_batch_size:
            self._wake.set()

    def _drop(self, count: int) -> None:
        self.dropped.labels("queue_full").inc(count)
        self._drops_unlogged += count
        now = time.monotonic()
        if now - self._last_drop_log >= 1.0:
            log.error(
                "trace queue full (%d): dropped %d traces",
                self.settings.trace_queue_max,
                self._drops_unlogged,
            )
            self._last_drop_log, self._drops_unlogged = now, 0

    async def flush(self) -> None:
        """Write everything queued so far (tests and shutdown). Raises the first failure;
        what failed, or was not tried, is back in the queue for the next try."""
        async with self._lock:
            count = len(self._queue)
            failure: BaseException | None = None
            while count > 0:
                take = min(count, self.settings.trace_batch_size)
                count -= take
                batch = [self._queue.popleft() for _ in range(take)]
                error = await self._write_batch(batch)
                failure = failure or error
                if error is not None and transient(error):
                    break  # the database is unreachable: the rest waits for the backoff
            if failure is not None:
                raise failure

    async def _write_batch(self, batch: list[Trace]) -> BaseException | None:
        tenants: dict[UUID, list[Trace]] = {}
        for t in batch:
            tenants.setdefault(t.caller.tenant_id, []).append(t)
        groups: list[tuple[UUID, list[Trace]]] = []
        for tenant, traces in tenants.items():
            # suspected poison goes alone, so it cannot fail its neighbours again
            groups.extend((tenant, [t]) for t in traces if t.call_id in self._alone)
            rest = [t for t in traces if t.call_id not in self._alone]
            if rest:
                groups.append((tenant, rest))
        failure: BaseException | None = None
        for i, (tenant, group) in enumerate(groups):
            error = await self._write_tenant(tenant, group)
            if error is not None and transient(error):
                # one refused connection says enough: the other tenants are not tried now
                untried = [t for _, later in groups[i + 1 :] for t in later]
                self._queue.extendleft(reversed(untried))
                return error
            failure = failure or error
        return failure

    async def _write_tenant(self, tenant: UUID, traces: list[Trace]) -> BaseException | None:
        try:
            async with self._uow(tenant) as uow:
                written = await write(uow, traces)
        except Exception as exc:  # any failure keeps the traces for a retry
            self.flush_failures.inc()
            self._keep(traces, exc)
            return exc
        self.written.inc(written)
        for t in traces:
            self._alone.pop(t.call_id, None)
        return None

    def _keep(self, traces: list[Trace], exc: Exception) -> None:
        if transient(exc):
            log.warning("trace flush failed (%s); %d traces kept for a retry", exc, len(traces))
            self._queue.extendleft(reversed(traces))
            return
        if len(traces) > 1:
            # one of them may be poison: from now on each is written alone
            log.warning("trace batch rejected (%s); retrying its %d traces alone", exc, len(traces))
            for t in traces:
                self._alone.setdefault(t.call_id, 0)
            self._queue.extendleft(reversed(traces))
            return
        [t] = traces
        tries = self._alone.get(t.call_id, 0) + 1
        if tries >= POISON_TRIES:
            self._alone.pop(t.call_id, None)
            self.dropped.labels("poison").inc()
            log.error("trace %s dropped after %d failed writes: %s", t.call_id, tries, exc)
            return
        self._alone[t.call_id] = tries
        self._queue.appendleft(t)

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="llm-gateway-recorder")

    async def _run(self) -> None:
        backoff = 0.0
        interval = self.settings.trace_flush_interval
        while not self._closing:
            if backoff:
                # a full queue must not hammer a database that is down: wait the backoff out
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                await self.flush()
            except Exception:  # the batch is kept; the loop must live on
                backoff = min(max(backoff * 2, interval), MAX_BACKOFF)
            else:
                backoff = 0.0

    async def aclose(self) -> None:
        """Flush and stop."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            # bounded: a database that does not answer must not hold the shutdown forever
            await asyncio.wait_for(self.flush(), timeout=SHUTDOWN_FLUSH_SECONDS)
        except Exception:
            log.exception("traces lost at shutdown: %d not written", len(self._queue))
