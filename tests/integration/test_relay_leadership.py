"""The relay's leader lock lost while its connection stays open: the relay notices at its
next round (the lock is re-checked on its session every round), publishes nothing while
another session leads, and leads again once the lock is free.

Terminating the lock's backend (test_relay.py) also closes the relay's connection; here the
connection lives on and only the lock goes. That is what a pooler in transaction mode does
to a relay (its next transaction runs on a server session that never took the lock) and
what a session reset (`DISCARD ALL`) does. The test drops the locks of the relay's very
session, on that session, just before the relay's next lock check, and hands the lock to a
session of its own in the same breath: the relay cannot win it back before the test lets
go, however the rounds are timed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from agentsuite_kit.db import make_engine
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay
from agentsuite_kit.metrics import KitMetrics
from tests.integration.conftest import SampleDb
from tests.integration.test_relay import (  # noqa: F401  # producer, topic: fixtures used here
    LOCK,
    Flaky,
    emit,
    producer,
    read,
    sample,
    topic,
    until,
)


async def test_a_lock_lost_on_a_live_connection_stops_the_relay_until_it_leads_again(
    app_engine: AsyncEngine,
    sample_db: SampleDb,
    producer: AIOKafkaProducer,  # noqa: F811  # the fixture imported above
    topic: str,  # noqa: F811  # the fixture imported above
    kafka_bootstrap: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="agentsuite_kit.messaging.relay")
    engine = make_engine(sample_db.app_url, pool_size=2)
    sender = Flaky(ProducerSender(producer), name="relay")
    metrics = KitMetrics()
    relay = OutboxRelay(engine, sender, poll_interval=0.02, metrics=metrics, stats_every=0)
    holder = await asyncpg.connect(sample_db.app_url.replace("+asyncpg", ""))
    armed = asyncio.Event()
    taken: list[int] = []  # the relay's backend pid, once its lock went to `holder`
    elections = 0

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        nonlocal elections
        elections += "pg_try_advisory_lock" in statement
        if not (armed.is_set() and "pg_locks" in statement):  # the round's lock check
            return
        armed.clear()
        session = conn.connection.driver_connection  # the relay's open asyncpg connection
        await_only(session.execute("SELECT pg_advisory_unlock_all()"))
        assert await_only(holder.fetchval("SELECT pg_try_advisory_lock($1)", LOCK))
        taken.append(session.get_server_pid())

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.supervise(stop))
    try:
        await until(lambda: relay.leading)
        tenant = uuid4()
        await emit(app_engine, tenant, topic, [("k", f"before{i}") for i in range(5)])
        await until(lambda: len(sender.sent) == 5)

        armed.set()
        await until(lambda: bool(taken))
        await until(lambda: not relay.leading)
        # noticed by the round's lock check, not by a dead session
        assert any("lost its leader lock" in r.getMessage() for r in caplog.records)
        assert not any("session died" in r.getMessage() for r in caplog.records)
        assert sample(metrics, "agentsuite_outbox_relay_leader") == 0

        # another session leads: the relay stands by and publishes nothing, round after round
        await emit(app_engine, tenant, topic, [("k", f"after{i}") for i in range(5)])
        seen = elections
        await until(lambda: elections >= seen + 3)  # asked for the lock thrice, refused
        assert not relay.leading
        assert [body for _, _, body in sender.sent] == [f"before{i}" for i in range(5)]
        relay.check()  # a standby is healthy

        # the lock is free again: the relay leads and publishes what waited
        assert await holder.fetchval("SELECT pg_advisory_unlock($1)", LOCK)
        await until(lambda: relay.leading)
        await until(lambda: len(sender.sent) == 10)
        assert sample(metrics, "agentsuite_outbox_relay_leader") == 1
        bodies = await read(kafka_bootstrap, topic, 10)
        assert bodies == [f"before{i}" for i in range(5)] + [f"after{i}" for i in range(5)]
    finally:
        stop.set()
        await task
        await holder.close()
        await engine.dispose()
