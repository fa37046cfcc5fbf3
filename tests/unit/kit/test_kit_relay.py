"""The relay's decisions, without a database or a broker: what is sent, marked, held,
charged, parked, and when the relay calls itself unhealthy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agentsuite_kit.messaging.errors import is_transient
from agentsuite_kit.messaging.relay import (
    OutboxRecord,
    OutboxRelay,
    RelayUnhealthy,
    verdict,
)


class FakeSender:
    """Acks at once, except values in `refuse` (send() raises) and `fail` (the ack fails);
    values in `silent` are never acked."""

    def __init__(
        self,
        *,
        refuse: dict[bytes, Exception] | None = None,
        fail: dict[bytes, Exception] | None = None,
        silent: frozenset[bytes] = frozenset(),
    ) -> None:
        self.refuse = refuse or {}
        self.fail = fail or {}
        self.silent = silent
        self.sent: list[bytes] = []

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        if value in self.refuse:
            raise self.refuse[value]
        self.sent.append(value)
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if value in self.fail:
            ack.set_exception(self.fail[value])
        elif value not in self.silent:
            ack.set_result(None)
        return ack


@pytest.fixture
def engine() -> Iterator[AsyncEngine]:
    # nothing listens on port 1: any use of the database fails at once
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    yield engine
    engine.sync_engine.dispose()


def _batch(*rows: tuple[str, str, bytes]) -> list[OutboxRecord]:
    return [
        OutboxRecord(i, uuid4(), topic, key, value, {"type": "t"})
        for i, (topic, key, value) in enumerate(rows, start=1)
    ]


async def test_every_acked_row_is_done_in_id_order(engine: AsyncEngine) -> None:
    sender = FakeSender()
    batch = _batch(("t", "A", b"a1"), ("t", "B", b"b1"), ("t", "A", b"a2"))

    out = await OutboxRelay(engine, sender).publish(batch)

    assert (out.done, out.failed, out.held) == ([1, 2, 3], {}, [])
    assert sender.sent == [b"a1", b"b1", b"a2"]


async def test_a_refused_send_keeps_its_keys_later_rows_from_the_producer(
    engine: AsyncEngine,
) -> None:
    too_big = MessageSizeTooLargeError()
    sender = FakeSender(refuse={b"a2": too_big})
    batch = _batch(
        ("t", "A", b"a1"),
        ("t", "B", b"b1"),
        ("t", "A", b"a2"),  # refused
        ("t", "B", b"b2"),
        ("t", "A", b"a3"),  # never handed to the producer
        ("t", "A", b"a4"),
    )

    out = await OutboxRelay(engine, sender).publish(batch)

    assert sender.sent == [b"a1", b"b1", b"b2"]
    assert out.done == [1, 2, 4]
    assert out.failed == {3: too_big}
    assert out.held == [5, 6]
    assert not out.outage


async def test_a_failed_ack_holds_the_keys_later_rows_from_marking(engine: AsyncEngine) -> None:
    error = RuntimeError("broker said no")
    sender = FakeSender(fail={b"a2": error})
    batch = _batch(("t", "A", b"a1"), ("t", "B", b"b1"), ("t", "A", b"a2"), ("t", "A", b"a3"))

    out = await OutboxRelay(engine, sender).publish(batch)

    assert out.done == [1, 2]
    assert out.failed == {3: error}
    assert out.held == [4]  # sent before the failure was known; re-sent after a2


async def test_a_key_is_scoped_to_its_topic(engine: AsyncEngine) -> None:
    sender = FakeSender(refuse={b"x1": MessageSizeTooLargeError()})
    batch = _batch(("t1", "A", b"x1"), ("t2", "A", b"y1"), ("t1", "A", b"x2"), ("t2", "A", b"y2"))

    out = await OutboxRelay(engine, sender).publish(batch)

    assert out.done == [2, 4]
    assert list(out.failed) == [1]
    assert out.held == [3]


async def test_a_metadata_timeout_holds_the_rest_of_its_topic(engine: AsyncEngine) -> None:
    sender = FakeSender(refuse={b"m1": KafkaTimeoutError()})
    batch = _batch(("gone", "A", b"m1"), ("t", "A", b"a1"), ("gone", "B", b"m2"))

    out = await OutboxRelay(engine, sender).publish(batch)

    assert sender.sent == [b"a1"]  # one timeout per round, not one per row of the topic
    assert (out.done, list(out.failed), out.held) == ([2], [1], [3])
    assert not out.outage  # the broker acked a1: the topic's fault, charged to its row


async def test_a_missing_ack_is_a_timeout(engine: AsyncEngine) -> None:
    sender = FakeSender(silent=frozenset({b"a1"}))
    batch = _batch(("t", "A", b"a1"), ("t", "B", b"b1"))

    out = await OutboxRelay(engine, sender, ack_timeout=0.05).publish(batch)

    assert out.done == [2]
    assert isinstance(out.failed[1], TimeoutError)


async def test_nothing_acked_with_only_transient_failures_is_an_outage(
    engine: AsyncEngine,
) -> None:
    down = FakeSender(refuse={b"a1": KafkaConnectionError(), b"b1": KafkaTimeoutError()})
    out = await OutboxRelay(engine, down).publish(_batch(("t", "A", b"a1"), ("u", "B", b"b1")))
    assert out.outage

    # one row the broker rejects for itself: its fault, even with nothing acked
    bad = FakeSender(refuse={b"a1": MessageSizeTooLargeError()})
    assert not (await OutboxRelay(engine, bad).publish(_batch(("t", "A", b"a1")))).outage

    assert not (await OutboxRelay(engine, FakeSender()).publish([])).outage

    # a held row the broker acked proves it up, though nothing is marked done
    up = FakeSender(fail={b"a1": KafkaConnectionError()})
    out = await OutboxRelay(engine, up).publish(_batch(("t", "A", b"a1"), ("t", "A", b"a2")))
    assert (out.done, out.held, out.acked) == ([], [2], 1)
    assert not out.outage


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (KafkaConnectionError(), True),
        (KafkaTimeoutError(), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (MessageSizeTooLargeError(), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_failures_are_the_brokers_not_the_rows(error: Exception, expected: bool) -> None:
    assert is_transient(error) is expected


def test_a_permanently_refused_row_parks_at_its_first_failure() -> None:
    v = verdict(0, max_attempts=10, initial=1.0, cap=300.0, transient=False)
    assert (v.attempts, v.park) == (1, True)
    assert not verdict(0, max_attempts=10, initial=1.0, cap=300.0, transient=True).park


def test_a_failed_row_backs_off_exponentially_to_a_cap_then_parks() -> None:
    verdicts = [verdict(n, max_attempts=5, initial=1.0, cap=5.0) for n in range(5)]
    assert [v.attempts for v in verdicts] == [1, 2, 3, 4, 5]
    assert [v.delay for v in verdicts] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert [v.park for v in verdicts] == [False, False, False, False, True]


def test_check_reports_a_relay_that_never_started(engine: AsyncEngine) -> None:
    with pytest.raises(RelayUnhealthy, match="not started"):
        OutboxRelay(engine, FakeSender()).check()


def test_check_reports_a_leader_whose_rounds_stalled(engine: AsyncEngine) -> None:
    relay = OutboxRelay(engine, FakeSender(), stale_after=30)
    relay.problem = None
    relay.leading = True
    relay.last_round = time.monotonic() - 5
    relay.check()
    relay.last_round = time.monotonic() - 31
    with pytest.raises(RelayUnhealthy, match="no successful round"):
        relay.check()
    relay.leading = False  # a standby publishes nothing by design
    relay.check()


async def test_supervise_restarts_a_relay_whose_database_is_down(engine: AsyncEngine) -> None:
    relay = OutboxRelay(engine, FakeSender(), backoff_initial=0.01, backoff_max=0.02)
    runs = 0
    run = relay.run

    async def counted(stop: asyncio.Event) -> None:
        nonlocal runs
        runs += 1
        await run(stop)

    relay.run = counted  # type: ignore[method-assign]  # count the restarts
    stop = asyncio.Event()
    task = asyncio.create_task(relay.supervise(stop))
    try:
        async with asyncio.timeout(10):
            while runs < 3:  # noqa: ASYNC110  # polling a counter the relay bumps
                await asyncio.sleep(0.01)
        with pytest.raises(RelayUnhealthy, match="restarting"):
            relay.check()
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
