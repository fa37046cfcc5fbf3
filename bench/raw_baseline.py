"""What the hardware gives: outbox -> broker -> inbox with plain aiokafka + asyncpg.

    uv run python bench/raw_baseline.py [--events N] [--partitions N]

No framework, no ORM, no RLS; the same tables and statements as the kit's path (an
outbox, an inbox keyed (consumer, event_id), an `effects` table like the sample's) and
`set_config` in every transaction. Measures, in events/s:

  per-event    one transaction per event (BEGIN, set_config, claim, effect, COMMIT),
               with 1 and with 3 consumers in one group on one event loop;
  batched      one transaction per fetched batch (bulk claim + bulk effect);
  relay        SELECT 500 pending rows, send all (acks=all), UPDATE published_at;
  end to end   rows pre-written, relay + batched consumer running: relay start to last
               applied.

Consumer rates run from the first record fetched to the last applied (group joins are
excluded); offsets are committed once per fetched batch. `measure()` is what
bench/outbox_throughput.py calls to print the kit beside this on the same servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agentsuite_kit.messaging.broker import supports_idempotence

_DDL = """
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    topic varchar(249) NOT NULL,
    key varchar(255) NOT NULL,
    type varchar(200) NOT NULL,
    tenant_id uuid,
    value bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL;
CREATE TABLE inbox (
    consumer varchar(200) NOT NULL,
    event_id uuid NOT NULL,
    tenant_id uuid,
    topic varchar(249) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX inbox_applied_at ON inbox (applied_at);
CREATE TABLE effects (
    seq serial PRIMARY KEY,
    event_id uuid NOT NULL,
    tenant_id uuid,
    applied_at timestamptz DEFAULT now()
);
"""
SCOPE = "SELECT set_config('app.tenant_id', $1, true), set_config('app.all_tenants', $2, true)"
CLAIM = (
    "INSERT INTO inbox (consumer, event_id, topic, tenant_id) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
EFFECT = "INSERT INTO effects (event_id, tenant_id) VALUES ($1, $2)"
CLAIM_MANY = (
    "INSERT INTO inbox (consumer, event_id, topic, tenant_id) "
    "SELECT $1, e, $3, $4 FROM unnest($2::uuid[]) AS e "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)
EFFECT_MANY = "INSERT INTO effects (event_id, tenant_id) SELECT e, $2 FROM unnest($1::uuid[]) AS e"
PENDING = (
    "SELECT id, topic, key, value, headers FROM outbox "
    "WHERE published_at IS NULL ORDER BY id LIMIT $1"
)
PUBLISHED = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"


def quiet_logs() -> None:
    """Plain WARNING-and-up logs on stderr: no INFO noise, no colours in bench output."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


@dataclass
class Baseline:
    """Events per second of each raw path."""

    per_event: dict[int, float] = field(default_factory=dict)
    """Consumers in the group -> rate."""
    batched: float = 0.0
    relay: float = 0.0
    relay_split: dict[str, float] = field(default_factory=dict)
    """Microseconds per event in each relay phase."""
    idempotent: bool = False
    """Whether the relay's producer was idempotent (as the kit's would be on this broker)."""
    end_to_end: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"raw per-event, {w} worker(s): {r:8.0f} events/s" for w, r in self.per_event.items()
        ]
        out += [
            f"raw batched consumer:      {self.batched:8.0f} events/s",
            f"raw relay:                 {self.relay:8.0f} events/s "
            f"(idempotent: {'yes' if self.idempotent else 'no'}; "
            + ", ".join(f"{k} {v:.0f} us" for k, v in self.relay_split.items())
            + " per event)",
            f"raw end to end:            {self.end_to_end:8.0f} events/s",
        ]
        return out


def ratio(kit: float, raw: float) -> str:
    """`kit / raw` as a percentage line fragment, for printing the two side by side."""
    return f"{kit:8.0f} vs raw {raw:8.0f} events/s = {100 * kit / raw:5.1f}%" if raw else "n/a"


async def create_database(admin_url: str) -> str:
    """A fresh database with the raw tables; its asyncpg DSN."""
    name = f"raw_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = admin_url.rsplit("/", 1)[0] + f"/{name}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(_DDL)
    finally:
        await conn.close()
    return dsn


async def drop_database(admin_url: str, dsn: str) -> None:
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


async def create_topic(bootstrap: str, partitions: int) -> str:
    name = f"raw.notes.{secrets.token_hex(4)}.v1"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def write_outbox(dsn: str, topic: str, events: int, tenant: UUID) -> None:
    """`events` rows shaped like the sample's NoteAdded envelopes, one key per note."""
    rows = []
    for i in range(events):
        event, note = uuid4(), uuid4()
        value = {
            "id": str(event),
            "type": "sample.note.added",
            "schema_version": 1,
            "occurred_at": "2026-01-01T00:00:00Z",
            "producer": "sample",
            "tenant_id": str(tenant),
            "subject": {"type": "note", "id": str(note)},
            "correlation_id": str(uuid4()),
            "causation_id": None,
            "sequence": 1,
            "payload": {"note_id": str(note), "body": f"n{i}"},
        }
        headers = {"type": "sample.note.added", "event-id": str(event), "tenant-id": str(tenant)}
        row = (event, topic, str(note), "sample.note.added", tenant, json.dumps(value).encode())
        rows.append((*row, json.dumps(headers)))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            "INSERT INTO outbox (event_id, topic, key, type, tenant_id, value, headers) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
            rows,
        )
    finally:
        await conn.close()


async def _relay(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, batch: int, split: dict[str, float]
) -> int:
    """One relay round; how many rows it published. Adds each phase's seconds to `split`."""
    t0 = time.perf_counter()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SCOPE, "", "on")
        rows = await conn.fetch(PENDING, batch)
        t1 = time.perf_counter()
        split["select"] += t1 - t0
        if not rows:
            return 0
        sent = [
            await producer.send(
                r["topic"],
                r["value"],
                key=r["key"].encode(),
                headers=[(k, v.encode()) for k, v in json.loads(r["headers"]).items()],
            )
            for r in rows
        ]
        t2 = time.perf_counter()
        await asyncio.gather(*sent)
        t3 = time.perf_counter()
        await conn.execute(PUBLISHED, [r["id"] for r in rows])
    split["send"] += t2 - t1
    split["acks"] += t3 - t2
    split["update"] += time.perf_counter() - t3
    return len(rows)


async def run_relay(
    pool: asyncpg.Pool,
    bootstrap: str,
    events: int,
    batch: int,
    stop: asyncio.Event | None,
    split: dict[str, float] | None = None,
    *,
    idempotent: bool = False,
) -> float:
    """Publish until `events` rows went out (and `stop` is set, if given); seconds taken.
    `split`: seconds spent in SELECT (with BEGIN, set_config), send, acks, UPDATE + COMMIT."""
    split = split if split is not None else {}
    for phase in ("select", "send", "acks", "update"):
        split[phase] = 0.0
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        t0 = time.perf_counter()
        done = 0
        while done < events:
            n = await _relay(pool, producer, batch, split)
            done += n
            if not n:
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - t0
        if stop is not None:
            await stop.wait()
        return elapsed
    finally:
        await producer.stop()


def _ids(record: ConsumerRecord[bytes, bytes]) -> tuple[UUID, str]:
    doc = json.loads(record.value or b"{}")
    return UUID(doc["id"]), doc["tenant_id"]


class Group:
    """`workers` consumers of one group on one loop, applying until `events` are applied."""

    def __init__(
        self, pool: asyncpg.Pool, bootstrap: str, topic: str, events: int, workers: int
    ) -> None:
        self.pool, self.topic, self.events = pool, topic, events
        self.group = f"raw-{secrets.token_hex(4)}"
        self.consumers = [
            AIOKafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=self.group,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                max_poll_records=500,
            )
            for _ in range(workers)
        ]
        self.applied = 0
        self.first: float | None = None
        self.last = 0.0
        self.finished = asyncio.Event()

    async def start(self, partitions: int, within: float = 60.0) -> None:
        """Start every consumer and wait until the group's assignment covers the topic."""
        await asyncio.gather(*(c.start() for c in self.consumers))
        deadline = time.monotonic() + within
        while sum(len(c.assignment()) for c in self.consumers) < partitions or not all(
            c.assignment() for c in self.consumers[:partitions]
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"group {self.group} not assigned {partitions} partitions")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.consumers))

    async def run(self, batched: bool) -> float:
        """Apply every event; events/s from the first record fetched to the last applied."""
        await asyncio.gather(*(self._work(c, batched) for c in self.consumers))
        return self.events / (self.last - (self.first or self.last) or 1e-9)

    async def _work(self, consumer: AIOKafkaConsumer, batched: bool) -> None:
        async with self.pool.acquire() as conn:
            while not self.finished.is_set():
                fetched = await consumer.getmany(timeout_ms=100)
                records = [r for part in fetched.values() for r in part]
                if not records:
                    continue
                if self.first is None:
                    self.first = time.perf_counter()
                if batched:
                    await self._apply_batch(conn, records)
                else:
                    for record in records:
                        await self._apply_one(conn, record)
                await consumer.commit()
                if self.applied >= self.events:
                    self.last = self.last or time.perf_counter()
                    self.finished.set()

    async def _apply_one(
        self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        event, tenant = _ids(record)
        async with conn.transaction():
            await conn.execute(SCOPE, tenant, "")
            if await conn.fetchval(CLAIM, self.group, event, self.topic, tenant) is not None:
                await conn.execute(EFFECT, event, tenant)
                self.applied += 1

    async def _apply_batch(
        self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> None:
        by_tenant: dict[str, list[UUID]] = {}
        for record in records:
            event, tenant = _ids(record)
            by_tenant.setdefault(tenant, []).append(event)
        async with conn.transaction():
            for tenant, ids in by_tenant.items():
                await conn.execute(SCOPE, tenant, "")
                claimed = await conn.fetch(CLAIM_MANY, self.group, ids, self.topic, tenant)
                await conn.execute(EFFECT_MANY, [r[0] for r in claimed], tenant)
                self.applied += len(claimed)


async def consume(
    pool: asyncpg.Pool,
    bootstrap: str,
    topic: str,
    events: int,
    *,
    workers: int = 1,
    batched: bool = False,
    partitions: int = 6,
) -> float:
    """Events/s of a fresh group applying the `events` records already on `topic`."""
    group = Group(pool, bootstrap, topic, events, workers)
    await group.start(partitions)
    try:
        return await group.run(batched)
    finally:
        await group.stop()


async def measure(
    admin_url: str,
    bootstrap: str,
    events: int,
    *,
    workers: Sequence[int] = (1, 3),
    partitions: int = 6,
    batch: int = 500,
) -> Baseline:
    """Every raw rate, on a throwaway database of the server at `admin_url` (a role that
    may create databases) and fresh topics on `bootstrap`."""
    dsn = await create_database(admin_url)
    pool = await asyncpg.create_pool(dsn, min_size=4, max_size=8)
    result = Baseline()
    tenant = uuid4()
    try:
        topic = await create_topic(bootstrap, partitions)
        await write_outbox(dsn, topic, events, tenant)
        # the producer settings the kit's broker would pick here (not timed)
        idempotent = result.idempotent = await supports_idempotence(bootstrap)
        split: dict[str, float] = {}
        result.relay = events / await run_relay(
            pool, bootstrap, events, batch, None, split, idempotent=idempotent
        )
        result.relay_split = {k: v * 1e6 / events for k, v in split.items()}
        for w in workers:
            result.per_event[w] = await consume(
                pool, bootstrap, topic, events, workers=w, partitions=partitions
            )
        result.batched = await consume(
            pool, bootstrap, topic, events, batched=True, partitions=partitions
        )
        result.end_to_end = await end_to_end(
            pool, dsn, bootstrap, events, tenant, partitions, batch, idempotent
        )
    finally:
        await pool.close()
        await drop_database(admin_url, dsn)
    return result


async def end_to_end(
    pool: asyncpg.Pool,
    dsn: str,
    bootstrap: str,
    events: int,
    tenant: UUID,
    partitions: int,
    batch: int,
    idempotent: bool = False,
) -> float:
    """Rows pre-written; a batched consumer assigned; relay start to last applied."""
    topic = await create_topic(bootstrap, partitions)
    await write_outbox(dsn, topic, events, tenant)
    group = Group(pool, bootstrap, topic, events, 1)
    await group.start(partitions)
    try:
        t0 = time.perf_counter()
        relay = asyncio.create_task(
            run_relay(pool, bootstrap, events, batch, group.finished, idempotent=idempotent)
        )
        await group.run(batched=True)
        await relay
        return events / (group.last - t0)
    finally:
        await group.stop()


@contextlib.contextmanager
def servers(*, broker: bool = True) -> Iterator[tuple[str, str, str]]:
    """(admin URL, bootstrap, label): AGENTSUITE_BENCH_DATABASE_URL and
    AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS if set, embedded servers for the rest (no
    broker at all unless `broker`)."""
    from agentsuite_cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port

    admin = os.environ.get("AGENTSUITE_BENCH_DATABASE_URL")
    bootstrap = os.environ.get("AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS")
    with tempfile.TemporaryDirectory(prefix="agentsuite-raw-") as tmp:
        pg = None if admin else EmbeddedPostgres(Path(tmp), free_port())
        kafka = None if bootstrap or not broker else EmbeddedBroker(Path(tmp), free_port())
        try:
            if pg:
                pg.start()
            if kafka:
                kafka.start()
            label = "embedded tansu" if kafka else f"kafka at {bootstrap}"
            yield (
                admin or (pg.url() if pg else ""),
                bootstrap or (kafka.bootstrap if kafka else ""),
                label,
            )
        finally:
            if kafka:
                kafka.stop()
            if pg:
                pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--batch", type=int, default=500, help="relay batch size")
    args = parser.parse_args()
    quiet_logs()
    with servers() as (admin, bootstrap, label):
        print(f"broker: {label}; events: {args.events}; partitions: {args.partitions}")
        result = asyncio.run(
            measure(admin, bootstrap, args.events, partitions=args.partitions, batch=args.batch)
        )
    print("\n".join(result.lines()))


if __name__ == "__main__":
    main()
