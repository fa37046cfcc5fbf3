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
from collections.abc import Callable, Sequence
from uuid import UUID

from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from agentsuite_contracts.envelope import Subject
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.settlement import settle
from agentsuite_llm_gateway.trace_rows import actor, call_row, rollup, usage_event
from agentsuite_llm_gateway.uow import GatewayUow

log = logging.getLogger(__name__)

# tries alone after which a trace that fails for a reason other than the connection is dropped
POISON_TRIES = 3
MAX_BACKOFF = 5.0
SHUTDOWN_FLUSH_SECONDS = 15.0


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
            usage_event(t), subject=Subject(type="llm_call", id=str(t.call_id)), actor=actor(t)
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
