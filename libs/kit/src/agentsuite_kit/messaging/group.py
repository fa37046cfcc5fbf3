"""A consumer group on Kafka: workers that fetch, hand records to the `Consumer`, commit.

Why aiokafka directly and not a faststream subscriber: the group needs to leave an
offset uncommitted while a transient fault lasts, to pause a retry-tier partition until
its head record is due, to know when partitions are (re)assigned (the crash guard), and
to commit once per fetched batch; faststream's subscriber hides all four, and its
per-message path cost a third of the throughput in the kit's bench.

Each worker is one AIOKafkaConsumer in the group `<service>.<consumer>`, subscribed to the
source topic and the group's retry tiers; partitions are applied one fetch at a time, in
order. The crash guard: before a fetch is handed to handlers, its last offset is recorded
in `consumer_progress` (one write per fetch). After a (re)assignment, records at or below
that mark were handed to a previous owner that never committed them: they re-run one by
one, each start recorded before its handler runs, so a record that kills the process is
recognised on its next redelivery and dead-lettered after `max_crashes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from agentsuite_contracts.deadletter import RetryState, dead_letter_topic, retry_topic
from agentsuite_contracts.registry import REGISTRY, Registry
from agentsuite_kit.db.progress import ProgressRepository
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.messaging.admin import ensure_topics, partitions
from agentsuite_kit.messaging.consumer import Consumer, Record
from agentsuite_kit.messaging.errors import is_transient
from agentsuite_kit.messaging.policy import crashed_too_often

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)

# seconds a consumer stopped mid-join may take to leave cleanly (see _close_cut_short)
MID_JOIN_CLOSE = 5.0


def record_of(raw: Any) -> Record:
    return Record(
        topic=raw.topic,
        partition=raw.partition,
        offset=raw.offset,
        key=raw.key,
        value=raw.value,
        headers={k: v.decode(errors="replace") for k, v in raw.headers},
    )


@dataclass
class _Guard:
    """A worker's crash-guard state: partitions whose progress row is not read yet, and
    the offset up to which each partition's records re-run carefully."""

    unchecked: set[TopicPartition] = field(default_factory=set)
    careful_until: dict[TopicPartition, int] = field(default_factory=dict)


async def _close_cut_short(kafka: AIOKafkaConsumer) -> None:
    """Close a consumer whose join was cut short, without waiting out its JoinGroup.

    `stop()` waits for the answer to a JoinGroup in flight, and a broker holds that answer
    until every member it knows rejoined: a member stopped mid-join never joined, so it
    sent no LeaveGroup, and the next joins of its group waited on it (minutes on Tansu;
    each instance's stop then waited out each of its groups in turn). Nothing of a
    consumer that never joined needs a clean leave: past the bound its connections go."""
    try:
        await asyncio.wait_for(kafka.stop(), MID_JOIN_CLOSE)
        return
    except Exception:  # a start cut short may fail to close too: dropped below alike
        log.info("consumer %s: dropped mid-join", kafka._group_id)
    # the timeout cancelled its coordinator; what stop() had left to close: the fetcher and
    # the sockets (private: aiokafka has no public way to abort a join)
    with contextlib.suppress(Exception):
        await kafka._fetcher.close()
    with contextlib.suppress(Exception):
        await kafka._client.close()


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]  # untyped base
    def __init__(self, guard: _Guard) -> None:
        self.guard = guard

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            self.guard.unchecked.discard(tp)
            self.guard.careful_until.pop(tp, None)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        # a previous owner may have died holding records it was handed: look before applying
        self.guard.unchecked.update(assigned)


class ConsumerGroup(Generic[U]):
    """Runs `consumer` on `topic` (and `also`) with `workers` Kafka consumers; `start()` /
    `stop()`.

    `topic` must be in `registry` and carry every payload the consumer handles (see
    `ConsumerSpec`); the group's retry tiers and dead-letter topic are its own."""

    def __init__(
        self,
        consumer: Consumer[U],
        topic: str,
        bootstrap: str,
        *,
        progress: Callable[[], U],
        workers: int = 1,
        fetch: int = 500,
        fetch_wait_ms: int = 500,
        client_id: str | None = None,
        kafka_options: Mapping[str, Any] | None = None,
        registry: Registry = REGISTRY,
        also: Sequence[str] = (),
    ) -> None:
        for source in (topic, *also):
            registry.check_subscription(consumer.group, source, consumer.handlers)
        self.consumer = consumer
        self.topic = topic
        self.also = tuple(also)
        self.bootstrap = bootstrap
        self.progress = progress
        self.workers = workers
        self.fetch = fetch
        self.fetch_wait_ms = fetch_wait_ms
        self.client_id = client_id or consumer.group
        self.kafka_options = dict(kafka_options or {})
        self.tiers = [retry_topic(consumer.group, i + 1) for i in range(len(consumer.policy.tiers))]
        self._tasks: list[asyncio.Task[None]] = []
        self._kafka: list[AIOKafkaConsumer] = []
        self._joining: asyncio.Task[None] | None = None
        self.problem: str | None = None  # the last join attempt's failure, while retrying

    async def ensure_topics(self) -> None:
        """The group's retry tiers and dead-letter topic, as wide as its source topic."""
        try:
            width = len(await partitions(self.bootstrap, self.topic))
        except Exception:  # the source does not exist yet: it gets the same default
            width = 3
        names = [*self.tiers, dead_letter_topic(self.consumer.group)]
        await ensure_topics(self.bootstrap, [(name, width) for name in names])

    async def start(self, *, wait: bool = True) -> None:
        """Join the group and consume. `wait=False` returns once the join is under way: a
        join lasts the broker's rebalance delay, and right after a crash the dead member's
        session timeout too, none of which a service's API needs to wait for; the workers
        consume as soon as it completes, and a join that fails is retried (see `check`)."""
        await self.ensure_topics()
        self.consumer.stopping.clear()
        if wait:
            await self._join()
        else:
            self._joining = asyncio.create_task(
                self._join_until_joined(), name=f"{self.consumer.group}-join"
            )

    async def _join(self) -> None:
        workers = [(self._kafka_consumer(i), _Guard()) for i in range(self.workers)]
        for kafka, guard in workers:
            kafka.subscribe([self.topic, *self.also, *self.tiers], listener=_Assigned(guard))
        self._kafka = [kafka for kafka, _ in workers]  # stop() closes them, even mid-join
        # joined together, the workers share one rebalance instead of one each
        joins = await asyncio.gather(*(k.start() for k in self._kafka), return_exceptions=True)
        for failed in joins:
            if isinstance(failed, BaseException):
                raise failed
        for i, (kafka, guard) in enumerate(workers):
            self._tasks.append(
                asyncio.create_task(self._work(kafka, guard), name=f"{self.consumer.group}-{i}")
            )

    async def _join_until_joined(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._join()
            except Exception as exc:  # broker unreachable mid-start: fresh consumers, later
                self.problem = f"consumer {self.consumer.group} cannot join: {exc!r}"
                log.warning("consumer %s: join failed; retrying in %.0fs", self.consumer.group,
                            delay, exc_info=True)  # fmt: skip
                for kafka in self._kafka:
                    with contextlib.suppress(Exception):  # it never fully started
                        await kafka.stop()
                self._kafka = []
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.problem = None
            return

    def _kafka_consumer(self, i: int) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.consumer.group,
            client_id=f"{self.client_id}-{i}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.fetch,
            fetch_max_wait_ms=self.fetch_wait_ms,
            # a record may wait out a long transient fault before its offset commits
            max_poll_interval_ms=max(300_000, int(self.consumer.policy.transient_budget * 2000)),
            **self.kafka_options,
        )

    async def stop(self) -> None:
        self.consumer.stopping.set()
        mid_join = self._joining is not None and not self._joining.done()
        if self._joining is not None:
            self._joining.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._joining
            self._joining = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if mid_join:
            await asyncio.gather(*(_close_cut_short(kafka) for kafka in self._kafka))
        else:
            await asyncio.gather(*(kafka.stop() for kafka in self._kafka))
        self._tasks, self._kafka = [], []

    def check(self) -> None:
        """Raise if a worker died or the join keeps failing (readiness). A join still under
        way is no reason: the API serves meanwhile, and records wait in the topic as they
        do during any rebalance."""
        if self.problem is not None:
            raise RuntimeError(self.problem)
        for task in self._tasks:
            if task.done() and not task.cancelled():
                raise RuntimeError(f"consumer {self.consumer.group} stopped: {task.exception()!r}")

    async def _work(self, kafka: AIOKafkaConsumer, guard: _Guard) -> None:
        paused: dict[TopicPartition, datetime] = {}
        while True:
            self._resume_due(kafka, paused)
            try:
                batches = await kafka.getmany(timeout_ms=200, max_records=self.fetch)
            except KafkaError as exc:
                log.warning("consumer %s: fetch failed: %r", self.consumer.group, exc)
                await asyncio.sleep(1.0)
                continue
            fetched = {
                tp: [record_of(r) for r in raws]
                for tp, raws in batches.items()
                if tp not in paused  # fetched before the pause took effect; seen on resume
            }
            if not fetched:
                continue
            try:
                offsets = await self._fetch(kafka, fetched, guard, paused)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # out of patience with a transient fault: seek back, apply again later
                log.warning("consumer %s: fetch held back: %r", self.consumer.group, exc)
                for tp, records in fetched.items():
                    kafka.seek(tp, records[0].offset)
                await asyncio.sleep(1.0)
                continue
            if offsets:
                with contextlib.suppress(CommitFailedError):  # rebalanced: redelivered
                    await kafka.commit(offsets)
            for tp in fetched:
                await self._lag(kafka, tp)

    async def _fetch(
        self,
        kafka: AIOKafkaConsumer,
        fetched: dict[TopicPartition, list[Record]],
        guard: _Guard,
        paused: dict[TopicPartition, datetime],
    ) -> dict[TopicPartition, int]:
        """Apply one fetch, every partition of it together; the offsets to commit.

        One progress write for the whole fetch, one apply (a tenant's run may span
        partitions; each partition's records stay in order), one offset commit: per-fetch
        costs, not per-partition ones, bound the rate when fetches are small.
        """
        now = datetime.now(UTC)
        offsets: dict[TopicPartition, int] = {}
        normal: dict[TopicPartition, list[Record]] = {}
        for tp, records in fetched.items():
            due, waiting = _due(records, now)
            if waiting is not None:
                # a retry tier is in due order: the first record not yet due holds the rest
                kafka.seek(tp, waiting[0].offset)
                kafka.pause(tp)
                paused[tp] = waiting[1]
            if not due:
                continue
            offsets[tp] = due[-1].offset + 1
            careful = await self._careful_part(tp, due, guard)
            if careful:
                await self._careful(careful)
            if len(careful) < len(due):
                normal[tp] = due[len(careful) :]
        if normal:
            # before any handler runs: what a crash below could leave unfinished
            async with self.progress() as uow:
                await ProgressRepository(uow.session).handing(
                    self.consumer.group,
                    [
                        (tp.topic, tp.partition, records[-1].offset)
                        for tp, records in normal.items()
                    ],
                )
                await uow.commit()
            await self.consumer.process([r for records in normal.values() for r in records])
        return offsets

    async def _careful_part(
        self, tp: TopicPartition, due: list[Record], guard: _Guard
    ) -> list[Record]:
        """The records of `due` a previous owner was handed and never committed."""
        if tp in guard.unchecked:
            async with self.progress() as uow:
                handed = await ProgressRepository(uow.session).handed(
                    self.consumer.group, tp.topic, tp.partition
                )
            guard.unchecked.discard(tp)
            if handed >= due[0].offset:  # handed out before, never committed: re-run carefully
                guard.careful_until[tp] = handed
        until = guard.careful_until.get(tp)
        if until is None:
            return []
        careful = [r for r in due if r.offset <= until]
        if (careful and careful[-1].offset >= until) or len(careful) < len(due):
            del guard.careful_until[tp]
        return careful

    async def _careful(self, records: Sequence[Record]) -> None:
        for record in records:
            async with self.progress() as uow:
                attempts = await ProgressRepository(uow.session).started(
                    self.consumer.group, record.topic, record.partition, record.offset
                )
                await uow.commit()
            if crashed_too_often(attempts, self.consumer.policy):
                await self.consumer.bury_crashed(record, attempts)
            else:
                await self.consumer.process([record], careful=True)

    def _resume_due(self, kafka: AIOKafkaConsumer, paused: dict[TopicPartition, datetime]) -> None:
        now = datetime.now(UTC)
        for tp, due_at in list(paused.items()):
            if due_at <= now:
                del paused[tp]
                if tp in kafka.assignment():
                    kafka.resume(tp)
        for tp in [tp for tp in paused if tp not in kafka.assignment()]:
            del paused[tp]  # revoked while paused; its new owner decides

    async def _lag(self, kafka: AIOKafkaConsumer, tp: TopicPartition) -> None:
        metrics = self.consumer.metrics
        if metrics is None or tp not in kafka.assignment():
            return  # revoked since the fetch: aiokafka's highwater asserts it is assigned
        high = kafka.highwater(tp)
        if high is None:
            return
        with contextlib.suppress(Exception):  # a partition revoked meanwhile has no position
            lag = max(0, high - await kafka.position(tp))
            metrics.lag.labels(self.consumer.group, tp.topic, str(tp.partition)).set(lag)


def _due(
    records: Sequence[Record], now: datetime
) -> tuple[list[Record], tuple[Record, datetime] | None]:
    """Records ready to apply, and the first one that must wait (with its due time)."""
    due: list[Record] = []
    for record in records:
        state = RetryState.from_headers(record.headers)
        if state is not None and state.due_at > now:
            return due, (record, state.due_at)
        due.append(record)
    return due, None
