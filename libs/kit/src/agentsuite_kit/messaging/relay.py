"""The outbox relay: publishes what units of work wrote to the outbox, in order per key.

One relay per database leads (a PostgreSQL advisory lock held by a dedicated connection,
re-checked every round on that connection, which also runs the relay's queries). A row
whose send fails is retried with its own backoff and, after `max_attempts`, parked; the
rest of the outbox keeps flowing. A key's later rows wait while an earlier row of that key
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
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from aiokafka.errors import KafkaTimeoutError
from sqlalchemy import BigInteger, any_, delete, exists, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from agentsuite_kit.db.rls import ALL_TENANTS_SETTING
from agentsuite_kit.db.tables import outbox
from agentsuite_kit.metrics import KitMetrics

log = logging.getLogger(__name__)

# Only one relay per database publishes at a time: two would interleave a key's events.
_LEADER_LOCK = 0x6F7574626F78  # "outbox"
# Every relay transaction reads and writes every tenant's rows (outbox is under RLS); the
# same statement tells whether this session still holds the lock (a bigint advisory key
# shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1).
_SCOPE = text(
    "SELECT set_config(:setting, 'on', true), EXISTS ("
    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
    "AND granted AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)"
).bindparams(setting=ALL_TENANTS_SETTING, hi=_LEADER_LOCK >> 32, lo=_LEADER_LOCK & 0xFFFFFFFF)
_PENDING = (outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One message waiting to be published, exactly as it will go on the wire."""

    id: int
    event_id: UUID
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]
    attempts: int = 0


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
        return not self.acked and bool(self.failed) and all(map(transient, self.failed.values()))


def transient(exc: BaseException) -> bool:
    """A failure that says nothing about the row: connection, timeout, leader moves."""
    return isinstance(exc, ConnectionError | TimeoutError | KafkaTimeoutError) or bool(
        getattr(exc, "retriable", False)
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    attempts: int
    delay: float
    park: bool


def verdict(attempts: int, *, max_attempts: int, initial: float, cap: float) -> Verdict:
    """A failed row's fate: its new attempt count, the wait before its next try, parking."""
    n = attempts + 1
    return Verdict(n, min(initial * 2 ** (n - 1), cap), n >= max_attempts)


@dataclass(frozen=True, slots=True)
class Parked:
    id: int
    topic: str
    key: str
    type: str
    attempts: int
    error: str | None
    parked_at: datetime


class RelayRepository:
    """The relay's SQL, on a connection whose transaction `scope()` opened."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def scope(self) -> bool:
        """Lift RLS for this transaction; whether this session holds the leader lock."""
        return bool((await self.conn.execute(_SCOPE)).one()[1])

    async def pending(self, limit: int, *, waits: bool = True) -> list[OutboxRecord]:
        """The oldest sendable rows: none of a key at or after its row that backs off.

        `waits=False` (no row is known to back off) skips that filter, which reads every
        pending row; the plain query reads `limit` rows off the `outbox_pending` index.
        """
        query = select(
            outbox.c.id,
            outbox.c.event_id,
            outbox.c.topic,
            outbox.c.key,
            outbox.c.value,
            outbox.c.headers,
            outbox.c.attempts,
        ).where(*_PENDING)
        if waits:
            # materialized: the few waiting keys are found once, not once per row
            waiting = (
                select(outbox.c.topic, outbox.c.key, func.min(outbox.c.id).label("first"))
                .where(*_PENDING, outbox.c.next_attempt_at > func.now())
                .group_by(outbox.c.topic, outbox.c.key)
                .cte("waiting")
                .prefix_with("MATERIALIZED")
            )
            query = query.where(
                ~exists().where(
                    waiting.c.topic == outbox.c.topic,
                    waiting.c.key == outbox.c.key,
                    waiting.c.first <= outbox.c.id,
                )
            )
        rows = await self.conn.execute(query.order_by(outbox.c.id).limit(limit))
        return [OutboxRecord(*row) for row in rows]

    async def waiting_for(self) -> float | None:
        """Seconds until the last backing-off row is due (None: no row backs off)."""
        seconds = await self.conn.scalar(
            select(func.extract("epoch", func.max(outbox.c.next_attempt_at) - func.now())).where(
                *_PENDING, outbox.c.next_attempt_at > func.now()
            )
        )
        return None if seconds is None else float(seconds)

    async def published(self, ids: Sequence[int]) -> None:
        if ids:
            await self.conn.execute(
                update(outbox)
                # one array parameter: a prepared statement reused for every batch size
                .where(outbox.c.id == any_(literal(list(ids), ARRAY(BigInteger))))
                .values(published_at=func.now(), attempts=outbox.c.attempts + 1)
            )

    async def failed(self, row_id: int, error: str, v: Verdict) -> None:
        await self.conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                attempts=v.attempts,
                last_error=error[:2000],
                next_attempt_at=func.now() + timedelta(seconds=v.delay),
                parked_at=func.now() if v.park else None,
            )
        )

    async def noted(self, row_id: int, error: str) -> None:
        """Record an error without charging the row (a broker outage)."""
        await self.conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(last_error=error[:2000])
        )

    async def stats(self) -> tuple[int, float, int]:
        """(pending rows, age in seconds of the oldest, parked rows)."""
        unparked = outbox.c.parked_at.is_(None)
        row = (
            await self.conn.execute(
                select(
                    func.count().filter(unparked),
                    func.extract(
                        "epoch", func.now() - func.min(outbox.c.created_at).filter(unparked)
                    ),
                    func.count().filter(outbox.c.parked_at.is_not(None)),
                ).where(outbox.c.published_at.is_(None))
            )
        ).one()
        return int(row[0]), float(row[1] or 0.0), int(row[2])

    async def purge(self, retention: timedelta) -> int:
        result = await self.conn.execute(
            delete(outbox).where(outbox.c.published_at < func.now() - retention)
        )
        return int(result.rowcount or 0)

    async def parked(self, limit: int | None = None) -> list[Parked]:
        rows = await self.conn.execute(
            select(
                outbox.c.id,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.type,
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.parked_at,
            )
            .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [Parked(*row) for row in rows]

    async def unpark(self, ids: Sequence[int] | None) -> int:
        """Put parked rows back in line with a fresh attempt count (all when `ids` is None)."""
        stmt = (
            update(outbox)
            .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_not(None))
            .values(parked_at=None, next_attempt_at=None, attempts=0)
        )
        if ids is not None:
            stmt = stmt.where(outbox.c.id.in_(ids))
        result = await self.conn.execute(stmt)
        return int(result.rowcount or 0)


async def parked_rows(engine: AsyncEngine, limit: int | None = None) -> list[Parked]:
    """Every tenant's parked outbox rows, oldest first."""
    async with engine.connect() as conn, conn.begin():
        repo = RelayRepository(conn)
        await repo.scope()
        return await repo.parked(limit)


async def retry_parked(engine: AsyncEngine, ids: Sequence[int] | None) -> int:
    """Un-park `ids` (every parked row when None); the number un-parked."""
    async with engine.connect() as conn, conn.begin():
        repo = RelayRepository(conn)
        await repo.scope()
        return await repo.unpark(ids)


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
                if transient(exc):
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
            log.error("outbox: parked %d row(s) after %d attempts", parked, self.max_attempts)
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
            got = await conn.scalar(text(f"SELECT pg_try_advisory_lock({_LEADER_LOCK})"))
            await conn.commit()
            self.problem = None  # the database answers: a standby relay is healthy
            if got:
                return True
            await _sleep_or_stop(stop, max(self.poll_interval, 1.0))
        return False

    async def _lead(self, conn: AsyncConnection, stop: asyncio.Event) -> None:
        delay = self.backoff_initial
        self.last_round = time.monotonic()
        while not stop.is_set():
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
                await _sleep_or_stop(stop, self.poll_interval)

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
        released = await conn.scalar(text(f"SELECT pg_advisory_unlock({_LEADER_LOCK})"))
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
