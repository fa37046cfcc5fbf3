"""The outbox relay: publishes what units of work wrote to the outbox, in order per key.

One relay per database leads (a PostgreSQL advisory lock held by a dedicated connection,
re-checked every round on that connection, which also runs the relay's queries). A row
whose send fails for a passing reason is retried with its own backoff and, after
`max_attempts`, parked; one refused for good (too large, an illegal topic) is parked at
once. The rest of the outbox keeps flowing. A key's later rows wait while an earlier row of that key
backs off, so a key's events reach the broker in order.

A PARKED row leaves the line: its key's later rows are published without it (consumers
see the gap in the envelope's per-aggregate `sequence`), and `agentsuite outbox retry`
sends it again later, out of order. Holding the key instead would let one unpublishable
event (too large, a missing topic) stop its aggregate for good, which is the failure
parking exists to contain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsuite_kit.db.outbox import stop_waking, wake_on_write
from agentsuite_kit.db.relay import (
    LEADER_LOCK,
    OutboxRecord,
    Parked,
    RelayRepository,
    Verdict,
    parked_rows,
    retry_parked,
)
from agentsuite_kit.messaging.errors import is_transient
from agentsuite_kit.metrics import KitMetrics

log = logging.getLogger(__name__)

__all__ = [
    "LeadershipLost",
    "OutboxRecord",
    "OutboxRelay",
    "Parked",
    "PublishError",
    "RelayRepository",
    "RelayUnhealthy",
    "Sender",
    "parked_rows",
    "retry_parked",
]


class Sender(Protocol):
    """Sends one record; the returned awaitable completes when the broker acknowledged it."""

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]: ...


@dataclass(slots=True)
class Outcome:
    """What became of a batch: acked rows, rows that failed, rows left untouched."""

    done: list[int] = field(default_factory=list)
    failed: dict[int, BaseException] = field(default_factory=dict)
    held: list[int] = field(default_factory=list)
    """Not sent (an earlier row of the key or a send to the topic failed), or sent after
    the key's failure was known only from its ack: left pending, no attempt charged."""
    acked: int = 0
    """Rows the broker acknowledged, held ones included: proof the broker is up."""

    @property
    def outage(self) -> bool:
        """Nothing acked and every failure transient: the broker's fault, not the rows'."""
        return not self.acked and bool(self.failed) and all(map(is_transient, self.failed.values()))


def verdict(
    attempts: int, *, max_attempts: int, initial: float, cap: float, transient: bool = True
) -> Verdict:
    """A failed row's fate: its new attempt count, the wait before its next try, parking.

    A permanent refusal (too large, an illegal topic name, a value the broker rejects) parks
    at once: trying it again cannot help, and while it backs off its key's later rows wait.
    """
    n = attempts + 1
    return Verdict(n, min(initial * 2 ** (n - 1), cap), n >= max_attempts or not transient)


class PublishError(RuntimeError):
    """The broker acknowledged nothing of a batch: the relay backs off as a whole."""


class LeadershipLost(RuntimeError):
    """The session holding the leader lock is gone; another relay may lead now."""


class RelayUnhealthy(RuntimeError):
    """Why the relay is not doing its job right now (what /readyz reports)."""


class OutboxRelay:
    """Publishes pending outbox rows in id order, in batches, pipelined across keys.

    At-least-once: a row is marked published only after the broker acknowledged it, so a
    relay killed mid-batch re-sends what it had not marked; consumers dedupe by event id.
    Leadership cannot be fenced at the broker: a lock lost mid-round is noticed at the
    next round, so for at most one round two relays may send (duplicates, not losses).

    While it leads, a commit of this process that wrote outbox rows wakes it (`wake`) for
    its next round at once; rows other processes write wait for the poll. Wakes coalesce:
    however many commits come during a round, one more round follows it.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        sender: Sender,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.2,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        retention: timedelta = timedelta(hours=24),
        max_attempts: int = 10,
        retry_initial: float = 1.0,
        retry_max: float = 300.0,
        ack_timeout: float = 60.0,
        stale_after: float = 60.0,
        purge_every: float = 300.0,
        stats_every: float = 5.0,
        metrics: KitMetrics | None = None,
    ) -> None:
        self.engine = engine
        self.sender = sender
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.retention = retention
        self.max_attempts = max_attempts
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.ack_timeout = ack_timeout
        self.stale_after = stale_after
        self.purge_every = purge_every
        self.stats_every = stats_every
        self.metrics = metrics
        self.published = 0
        self.leading = False
        self.problem: str | None = "not started"
        self.last_round = time.monotonic()
        self._purged = self._counted = float("-inf")
        # until when a row may back off (rows of its key must wait); unknown at start
        self._waits = float("inf")
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Run the next round now rather than after the poll interval (rows were committed)."""
        self._woken.set()

    async def publish(self, batch: Sequence[OutboxRecord]) -> Outcome:
        """Send a batch, pipelined; after a key's failure none of its later rows are sent.

        A failure seen only in an ack comes after the key's later rows were handed over:
        those are held (re-sent after the failed row), so the key's order on the topic
        repeats from the failed row; consumers see the repeat by event id and sequence.
        A transient `send()` failure (metadata timeout) holds the rest of its topic too,
        so one missing topic costs one timeout per round, not one per row.
        """
        out = Outcome()
        broken: dict[tuple[str, str], int] = {}  # key -> id of its first failed row
        stuck: set[str] = set()
        sent: list[tuple[OutboxRecord, Awaitable[Any]]] = []
        for r in batch:
            if (r.topic, r.key) in broken or r.topic in stuck:
                out.held.append(r.id)
                continue
            try:
                sent.append(
                    (r, await self.sender.send(r.topic, r.key.encode(), r.value, r.headers))
                )
            except Exception as exc:
                out.failed[r.id] = exc
                broken.setdefault((r.topic, r.key), r.id)
                if is_transient(exc):
                    stuck.add(r.topic)
        acks = await self._acks([ack for _, ack in sent])
        for (r, _), result in zip(sent, acks, strict=True):
            out.acked += not isinstance(result, BaseException)
            if broken.get((r.topic, r.key), r.id) < r.id:
                out.held.append(r.id)
            elif isinstance(result, BaseException):
                out.failed[r.id] = result
                broken.setdefault((r.topic, r.key), r.id)
            else:
                out.done.append(r.id)
        return out

    async def _acks(self, acks: list[Awaitable[Any]]) -> list[object]:
        futures = [asyncio.ensure_future(a) for a in acks]
        if futures:
            await asyncio.wait(futures, timeout=self.ack_timeout)
        results: list[object] = []
        for f in futures:
            if not f.done():
                f.add_done_callback(_consume)
                results.append(TimeoutError(f"no ack within {self.ack_timeout}s"))
            elif f.cancelled():
                results.append(ConnectionError("send cancelled"))
            else:
                results.append(f.exception() or f.result())
        return results

    async def step(self, conn: AsyncConnection | None = None, *, lead: bool = False) -> int:
        """One fetch-send-mark round; the number of rows published.

        `lead`: raise `LeadershipLost` unless `conn`'s session holds the leader lock.
        """
        if conn is None:
            async with self.engine.connect() as own:
                return await self.step(own)
        async with conn.begin():
            repo = RelayRepository(conn)
            if not await repo.scope() and lead:
                raise LeadershipLost("the relay's lock session no longer holds the lock")
            waits = time.monotonic() < self._waits
            batch = await repo.pending(self.batch_size, waits=waits)
            if waits:
                seconds = await repo.waiting_for()
                self._waits = float("-inf") if seconds is None else time.monotonic() + seconds
        if not batch:
            return 0
        out = await self.publish(batch)
        attempts = {r.id: r.attempts for r in batch}
        parked = 0
        async with conn.begin():
            repo = RelayRepository(conn)
            await repo.scope()
            await repo.published(out.done)
            for row_id, exc in out.failed.items():
                if out.outage:
                    await repo.noted(row_id, repr(exc))
                    continue
                v = verdict(
                    attempts[row_id],
                    max_attempts=self.max_attempts,
                    initial=self.retry_initial,
                    cap=self.retry_max,
                    transient=is_transient(exc),
                )
                await repo.failed(row_id, repr(exc), v)
                parked += v.park
                # the database's clock set the row's time; a second covers the difference
                self._waits = max(self._waits, time.monotonic() + v.delay + 1.0)
        self.published += len(out.done)
        if self.metrics is not None:
            self.metrics.outbox_published.inc(len(out.done))
            self.metrics.outbox_failures.inc(len(out.failed))
        if parked:
            log.error("outbox: parked %d row(s) refused for good or failing for long", parked)
            self._counted = float("-inf")  # report the parked count at once
        if out.outage:
            first = next(iter(out.failed.values()))
            raise PublishError(f"broker acknowledged none of {len(batch)} rows: {first!r}")
        return len(out.done)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, as the only relay of this database; after losing
        the lock (its session died), stand for leadership again on a fresh connection."""
        while not stop.is_set():
            async with self.engine.connect() as conn:
                if not await self._elect(conn, stop):
                    return
                self._leading(True)
                self._waits = float("inf")  # the previous leader may have left rows waiting
                try:
                    await self._lead(conn, stop)
                finally:
                    self._leading(False)
                    await _resign(conn)
            # a deposed leader lets a standby (polling each second) take over first
            await _sleep_or_stop(stop, 2 * max(self.poll_interval, 1.0))

    async def supervise(self, stop: asyncio.Event) -> None:
        """`run` until `stop`, restarted with backoff whenever it dies (database down)."""
        delay = self.backoff_initial
        while not stop.is_set():
            began = self.last_round
            try:
                await self.run(stop)
            except Exception as exc:
                self.problem = f"outbox relay restarting after {exc!r}"
                log.warning("outbox relay died; restarting in %.1fs", delay, exc_info=True)
                if self.last_round != began:
                    delay = self.backoff_initial
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.backoff_max)
        self.problem = "stopped"

    def check(self) -> None:
        """Raise `RelayUnhealthy` when the relay is restarting or its rounds stall."""
        if self.problem is not None:
            raise RelayUnhealthy(self.problem)
        age = time.monotonic() - self.last_round
        if self.leading and age > self.stale_after:
            raise RelayUnhealthy(f"outbox relay: no successful round for {age:.0f}s")

    async def _elect(self, conn: AsyncConnection, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            got = await conn.scalar(text(f"SELECT pg_try_advisory_lock({LEADER_LOCK})"))
            await conn.commit()
            self.problem = None  # the database answers: a standby relay is healthy
            if got:
                return True
            await _sleep_or_stop(stop, max(self.poll_interval, 1.0))
        return False

    async def _lead(self, conn: AsyncConnection, stop: asyncio.Event) -> None:
        self.last_round = time.monotonic()
        wake_on_write(self)
        try:
            await self._rounds(conn, stop)
        finally:
            stop_waking(self)

    async def _rounds(self, conn: AsyncConnection, stop: asyncio.Event) -> None:
        delay = self.backoff_initial
        while not stop.is_set():
            # cleared before the round reads the outbox: a commit after this wakes the next
            # round, and one before it is in this round's read (its hook runs after commit)
            self._woken.clear()
            try:
                sent = await self.step(conn, lead=True)
                await self._housekeep(conn)
            except LeadershipLost:
                log.warning("outbox relay lost its leader lock; standing again")
                return
            except Exception:
                if not await _alive(conn):
                    log.warning("outbox relay's lock session died; standing again", exc_info=True)
                    return
                log.warning("outbox relay round failed; retrying in %.1fs", delay, exc_info=True)
                await _sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            delay = self.backoff_initial
            self.last_round = time.monotonic()
            if sent < self.batch_size:
                await _sleep_or_wake(stop, self._woken, self.poll_interval)

    async def _housekeep(self, conn: AsyncConnection) -> None:
        now = time.monotonic()
        if now - self._purged >= self.purge_every:
            async with conn.begin():
                repo = RelayRepository(conn)
                await repo.scope()
                await repo.purge(self.retention)
            self._purged = now
        if self.metrics is not None and now - self._counted >= self.stats_every:
            async with conn.begin():
                repo = RelayRepository(conn)
                await repo.scope()
                backlog, age, parked = await repo.stats()
            self.metrics.outbox_backlog.set(backlog)
            self.metrics.outbox_oldest_age.set(age)
            self.metrics.outbox_parked.set(parked)
            self._counted = now

    def _leading(self, on: bool) -> None:
        self.leading = on
        if self.metrics is not None:
            self.metrics.relay_leader.set(1 if on else 0)


async def _resign(conn: AsyncConnection) -> None:
    """Release the leader lock. A session that cannot is closed instead, which releases it
    too: the connection goes back to the pool, and its next borrower must not lead."""
    try:
        released = await conn.scalar(text(f"SELECT pg_advisory_unlock({LEADER_LOCK})"))
        await conn.commit()
    except Exception:
        released = False
    if not released:
        with contextlib.suppress(Exception):
            await conn.invalidate()


async def _alive(conn: AsyncConnection) -> bool:
    """Whether `conn`'s session still holds the lock (False when the session is gone)."""
    try:
        async with conn.begin():
            return await RelayRepository(conn).scope()
    except Exception:
        return False


def _consume(f: asyncio.Future[Any]) -> None:
    # a late ack's error is already reported as a timeout; do not log it as unretrieved
    if not f.cancelled():
        f.exception()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _sleep_or_wake(stop: asyncio.Event, woken: asyncio.Event, seconds: float) -> None:
    if woken.is_set():  # a commit came during the round: no need for tasks to wait on
        return
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(woken.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
