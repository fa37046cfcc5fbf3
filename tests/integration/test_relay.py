"""The outbox relay against real PostgreSQL (app role, RLS) and a real broker: every
tenant's rows, per-row failures and parking, per-key order, leadership, purging."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, NotEnoughReplicasError
from aiokafka.structs import ConsumerRecord
from pydantic import Field
from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from agentsuite_cli.main import app as cli
from agentsuite_contracts.envelope import Envelope, Payload, Subject
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.tables import outbox
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay, Sender
from agentsuite_kit.metrics import KitMetrics
from tests.integration.conftest import SampleDb


class Pinged(Payload):
    type: Literal["relay.test.pinged"] = Field(default="relay.test.pinged", description="Type.")
    body: str = Field(description="Anything.")


LOCK = 0x6F7574626F78  # the relay's advisory lock key


def ping(tenant: UUID | None, body: str) -> Envelope[Pinged]:
    return Envelope[Pinged](
        producer="relay-test",
        tenant_id=tenant,
        subject=Subject(type="ping", id=body[:40]),
        correlation_id=uuid4(),
        payload=Pinged(body=body),
    )


async def emit(
    app_engine: AsyncEngine,
    tenant: UUID | None,
    topic: str,
    rows: list[tuple[str, str]],
    limit: int | None = None,
) -> list[UUID]:
    """Write (key, body) rows through a unit of work of `tenant`; their event ids."""
    ids = []
    async with UnitOfWork(app_engine, tenant_id=tenant) as uow:
        if limit is not None:
            uow.max_message_bytes = limit
        for key, body in rows:
            ids.append(uow.emit(ping(tenant, body), topic=topic, key=key).id)
        await uow.commit()
    return ids


async def read(bootstrap: str, topic: str, expect: int, within: float = 15.0) -> list[str]:
    """Bodies on `topic` in offset order per partition, once `expect` arrived (or time's up)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    got: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + within
        while len(got) < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                got.extend(records)
        await asyncio.sleep(0.3)  # anything beyond `expect` would show up now
        for records in (await consumer.getmany(timeout_ms=200)).values():
            got.extend(records)
    finally:
        await consumer.stop()
    return [Envelope[Pinged].model_validate_json(r.value or b"").payload.body for r in got]


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def until(check: Callable[[], bool], within: float = 15.0) -> None:
    async def wrapped() -> bool:
        return check()

    await eventually(wrapped, within)


def leads(relay: OutboxRelay) -> bool:
    return relay.leading  # read anew: the relay changes it between asserts


def sample(metrics: KitMetrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


async def rows(engine: AsyncEngine, topic: str) -> dict[str, dict[str, Any]]:
    """The outbox rows of `topic` by body, read across tenants."""
    async with engine.connect() as conn, conn.begin():
        await conn.execute(select(func.set_config("app.all_tenants", "on", True)))
        result = await conn.execute(select(outbox).where(outbox.c.topic == topic))
        out = {}
        for r in result.mappings():
            body = Envelope[Pinged].model_validate_json(r["value"]).payload.body
            out[body] = dict(r)
        return out


@pytest.fixture
async def topic(kafka_bootstrap: str, app_engine: AsyncEngine) -> AsyncIterator[str]:
    name = f"relay.test.{secrets.token_hex(4)}.v1"
    await ensure_topics(kafka_bootstrap, [(name, 1)])  # one partition: one total order
    yield name
    # parked or pending rows of one test must not reach the relays of the next
    async with app_engine.connect() as conn, conn.begin():
        await conn.execute(select(func.set_config("app.all_tenants", "on", True)))
        await conn.execute(outbox.delete().where(outbox.c.topic == name))


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    p = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", request_timeout_ms=5000)
    await p.start()
    yield p
    await p.stop()


class Flaky:
    """A real sender that refuses chosen bodies' sends (as the producer does) `times` times
    with `error` (a permanent one unless told), and logs what reached the broker, by whom,
    when."""

    def __init__(
        self,
        inner: Sender,
        refuse: dict[str, int] | None = None,
        name: str = "",
        error: Callable[[str], Exception] = ValueError,
    ) -> None:
        self.inner = inner
        self.error = error
        self.refuse = refuse or {}
        self.name = name
        self.sent: list[tuple[str, float, str]] = []

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        body = Envelope[Pinged].model_validate_json(value).payload.body
        if self.refuse.get(body, 0) > 0:
            self.refuse[body] -= 1
            raise self.error(f"refused {body}")
        self.sent.append((self.name, time.monotonic(), body))
        return await self.inner.send(topic, key, value, headers)


async def test_rows_of_every_tenant_are_published(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    await emit(app_engine, uuid4(), topic, [("a", "t1")])
    await emit(app_engine, uuid4(), topic, [("b", "t2")])
    await emit(app_engine, None, topic, [("c", "platform")])

    relay = OutboxRelay(app_engine, ProducerSender(producer))
    while await relay.step():
        pass

    assert sorted(await read(kafka_bootstrap, topic, 3)) == ["platform", "t1", "t2"]
    assert all(r["published_at"] is not None for r in (await rows(app_engine, topic)).values())


async def test_an_oversized_row_is_parked_at_once_while_the_rest_flows(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    tenant = uuid4()
    # past the producer's 1 MiB request limit: aiokafka refuses it in send()
    big = "x" * 1_100_000
    await emit(
        app_engine, tenant, topic, [("a", "a1"), ("a", big), ("a", "a3"), ("b", "b1")], 2**21
    )
    # the default attempts: a permanent refusal must not use them (nor hold key a meanwhile)
    relay = OutboxRelay(app_engine, ProducerSender(producer))

    assert await relay.step() == 2  # a1 and b1; a3 was behind the failed row of key a
    stored = await rows(app_engine, topic)
    assert stored[big]["attempts"] == 1
    assert "MessageSizeTooLarge" in stored[big]["last_error"]
    assert stored[big]["parked_at"] is not None
    assert stored["a3"]["attempts"] == 0

    # parked: out of the line, so key a's later row goes on at once (consumers see the gap)
    assert await relay.step() == 1
    assert await read(kafka_bootstrap, topic, 3) == ["a1", "b1", "a3"]
    assert (await rows(app_engine, topic))[big]["attempts"] == 1


async def test_an_unknown_topic_name_is_parked_at_once(
    app_engine: AsyncEngine, producer: AIOKafkaProducer, topic: str, kafka_bootstrap: str
) -> None:
    await emit(app_engine, uuid4(), "not a topic!", [("a", "bad")])
    await emit(app_engine, uuid4(), topic, [("a", "good")])
    relay = OutboxRelay(app_engine, ProducerSender(producer))
    assert await relay.step() == 1
    async with app_engine.connect() as conn, conn.begin():
        await conn.execute(select(func.set_config("app.all_tenants", "on", True)))
        bad = (await conn.execute(select(outbox).where(outbox.c.topic == "not a topic!"))).one()
        await conn.execute(outbox.delete().where(outbox.c.topic == "not a topic!"))
    assert bad.parked_at is not None, bad.last_error
    assert bad.attempts == 1


async def test_a_keys_later_rows_wait_while_its_failed_row_backs_off(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    # b1 first: a passing refusal holds the rest of its topic for the round
    await emit(app_engine, uuid4(), topic, [("b", "b1"), ("a", "a1"), ("a", "a2"), ("a", "a3")])
    sender = Flaky(ProducerSender(producer), refuse={"a2": 1}, error=NotEnoughReplicasError)
    relay = OutboxRelay(app_engine, sender, retry_initial=0.5)

    assert await relay.step() == 2  # b1, a1
    assert await relay.step() == 0  # a2 backs off, a3 behind it: nothing handed over
    assert [body for _, _, body in sender.sent] == ["b1", "a1"]

    await asyncio.sleep(0.6)
    assert await relay.step() == 2
    assert await read(kafka_bootstrap, topic, 4) == ["b1", "a1", "a2", "a3"]


async def test_a_broker_outage_charges_no_row(
    app_engine: AsyncEngine, producer: AIOKafkaProducer, topic: str
) -> None:
    await emit(app_engine, uuid4(), topic, [("a", "a1"), ("b", "b1")])

    class Down:
        async def send(
            self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
        ) -> Awaitable[Any]:
            raise KafkaConnectionError("no broker")

    relay = OutboxRelay(app_engine, Down(), max_attempts=1)
    with pytest.raises(RuntimeError, match="acknowledged none"):
        await relay.step()
    stored = await rows(app_engine, topic)
    assert {r["attempts"] for r in stored.values()} == {0}
    assert {r["parked_at"] for r in stored.values()} == {None}
    assert "no broker" in stored["a1"]["last_error"]  # seen, for the operator
    await OutboxRelay(app_engine, ProducerSender(producer)).step()  # leave nothing pending


async def test_parked_rows_are_listed_and_retried_from_the_cli(
    app_engine: AsyncEngine,
    producer: AIOKafkaProducer,
    topic: str,
    sample_db: SampleDb,
    kafka_bootstrap: str,
) -> None:
    await emit(app_engine, uuid4(), topic, [("k", "p1"), ("k", "p2"), ("j", "p3")])
    sender = Flaky(ProducerSender(producer), refuse={"p1": 1, "p3": 1})
    relay = OutboxRelay(app_engine, sender, max_attempts=1)
    await relay.step()
    stored = await rows(app_engine, topic)
    p1, p3 = stored["p1"]["id"], stored["p3"]["id"]
    assert stored["p1"]["parked_at"] is not None
    assert stored["p3"]["parked_at"] is not None
    assert await relay.step() == 1  # p2: a parked row does not hold its key

    runner = CliRunner()
    db = ["--database-url", sample_db.app_url]
    for wrong in (["retry", *db], ["retry", str(p1), "--all", *db], ["parked"]):
        refused = await asyncio.to_thread(runner.invoke, cli, ["outbox", *wrong])
        assert refused.exit_code == 2, refused.output
    listed = await asyncio.to_thread(runner.invoke, cli, ["outbox", "parked", *db])
    assert listed.exit_code == 0, listed.output
    assert str(p1) in listed.output
    assert str(p3) in listed.output
    # the table wraps with the terminal's width; --json is the form to read exactly
    as_json = await asyncio.to_thread(runner.invoke, cli, ["outbox", "parked", "--json", *db])
    lines = {row["id"]: row for row in map(json.loads, as_json.output.splitlines())}
    assert "refused p1" in lines[p1]["error"]
    assert lines[p3]["topic"] == topic

    retried = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry", str(p1), *db])
    assert retried.exit_code == 0, retried.output
    assert "1" in retried.output
    stored = await rows(app_engine, topic)
    assert stored["p1"]["parked_at"] is None
    assert stored["p1"]["attempts"] == 0
    assert stored["p3"]["parked_at"] is not None

    assert await relay.step() == 1  # p1 sent again (after p2: the gap consumers saw)
    everything = await asyncio.to_thread(runner.invoke, cli, ["outbox", "retry", "--all", *db])
    assert everything.exit_code == 0, everything.output
    assert await relay.step() == 1
    assert await read(kafka_bootstrap, topic, 3) == ["p2", "p1", "p3"]


async def test_a_relay_stopped_before_it_led_never_unlocks(
    sample_db: SampleDb, producer: AIOKafkaProducer
) -> None:
    engine = make_engine(sample_db.app_url, pool_size=2)
    statements: list[str] = []
    event.listen(
        engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(str(a[2]))
    )
    holder = await asyncpg.connect(sample_db.app_url.replace("+asyncpg", ""))
    try:
        # another test's relay may be finishing
        await eventually(lambda: holder.fetchval("SELECT pg_try_advisory_lock($1)", LOCK))
        relay = OutboxRelay(engine, ProducerSender(producer), poll_interval=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await until(lambda: any("pg_try_advisory_lock" in s for s in statements))
        stop.set()
        await asyncio.wait_for(task, 5)
        assert not any("pg_advisory_unlock" in s for s in statements)
        assert (
            await holder.fetchval(
                "SELECT count(*) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            == 1
        )
    finally:
        await holder.close()
        await engine.dispose()


async def test_one_relay_publishes_at_a_time_through_a_lost_lock(
    app_engine: AsyncEngine,
    sample_db: SampleDb,
    producer: AIOKafkaProducer,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    engines = [make_engine(sample_db.app_url, pool_size=2) for _ in range(2)]
    senders = [Flaky(ProducerSender(producer), name=n) for n in ("first", "second")]
    metrics = [KitMetrics(), KitMetrics()]
    relays = [
        OutboxRelay(e, s, poll_interval=0.02, metrics=m, stats_every=0)
        for e, s, m in zip(engines, senders, metrics, strict=True)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relays[0].supervise(stop))]
    admin = await asyncpg.connect(sample_db.admin_url)
    try:
        await until(lambda: relays[0].leading)
        tasks.append(asyncio.create_task(relays[1].supervise(stop)))
        tenant = uuid4()  # one aggregate of one tenant
        await emit(app_engine, tenant, topic, [("k", f"before{i}") for i in range(5)])
        await until(lambda: len(senders[0].sent) >= 5)
        await until(lambda: relays[1].problem is None)  # standing by
        assert not leads(relays[1])
        assert sample(metrics[1], "agentsuite_outbox_relay_leader") == 0

        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = $1) "
            "AND objid::bigint = $2 AND granted",
            sample_db.db.database,
            LOCK & 0xFFFFFFFF,
        )
        assert len(killed) == 1
        for i in range(20):
            await emit(app_engine, tenant, topic, [("k", f"after{i}")])
            await asyncio.sleep(0.05)
        await until(lambda: relays[1].leading)
        await until(lambda: relays[0].problem is None)

        sent = sorted(senders[0].sent + senders[1].sent, key=lambda s: s[1])
        who = [name for name, _, _ in sent]
        # one hand-over, never back and forth: the first stopped before the second began
        assert who == sorted(who), who
        assert "second" in who
        assert not leads(relays[0])
        assert leads(relays[1])
        assert sample(metrics[0], "agentsuite_outbox_relay_leader") == 0
        assert sample(metrics[1], "agentsuite_outbox_relay_leader") == 1
        bodies = set(await read(kafka_bootstrap, topic, 25))
        assert bodies == {f"before{i}" for i in range(5)} | {f"after{i}" for i in range(20)}
        relays[0].check()
        relays[1].check()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await admin.close()
        for e in engines:
            await e.dispose()


async def test_published_rows_are_purged_after_the_retention_and_metrics_kept(
    app_engine: AsyncEngine, producer: AIOKafkaProducer, topic: str
) -> None:
    from datetime import timedelta

    await emit(app_engine, uuid4(), topic, [("a", "old"), ("b", "stuck")])
    async with app_engine.connect() as conn, conn.begin():
        await conn.execute(select(func.set_config("app.all_tenants", "on", True)))
        # a row parked long ago is kept: only published rows age out
        await conn.execute(
            update(outbox)
            .where(outbox.c.topic == topic, outbox.c.key == "b")
            .values(parked_at=func.now(), last_error="by hand")
        )
    metrics = KitMetrics()
    relay = OutboxRelay(
        app_engine,
        ProducerSender(producer),
        poll_interval=0.02,
        retention=timedelta(seconds=1),
        purge_every=0.2,
        stats_every=0,
        metrics=metrics,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.supervise(stop))
    try:

        async def purged() -> bool:
            return set(await rows(app_engine, topic)) == {"stuck"}

        await eventually(purged)
        assert sample(metrics, "agentsuite_outbox_published_total") >= 1
        assert sample(metrics, "agentsuite_outbox_parked") >= 1
        assert sample(metrics, "agentsuite_outbox_relay_leader") == 1
        relay.check()
    finally:
        stop.set()
        await task
