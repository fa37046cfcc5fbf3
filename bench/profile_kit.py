"""Where the kit's per-event database time goes, piece by piece, in microseconds.

    uv run python bench/profile_kit.py [--events N]

On a throwaway database (embedded PostgreSQL unless AGENTSUITE_BENCH_DATABASE_URL is
set) with the kit's tables and an `effects` table under forced RLS, connected as a plain
app role (RLS binds it, as in a service), it times:

  pool       checkout + checkin of `make_engine`, and with the former kit's
             pool_pre_ping and RESET ALL reset hook added back;
  kit path   the consumer's per-event unit of work (UnitOfWork, InboxRepository.claim_many,
             an effect INSERT, finish) on `make_engine` and on the former engine;
  batches    a batched run of 500 as the kit does it, and as raw asyncpg does it;
  stacks     the same five statements (BEGIN, set_config, claim, effect, COMMIT) through
             AsyncSession, AsyncConnection and raw asyncpg, with and without a pool;
  rls        raw asyncpg as the app role (RLS) and as the superuser (no RLS).

Wall times are medians over N events after a warm-up; "Python CPU" is this process's CPU
per event, which caps what one event loop can apply however many consumers share it.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    event,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from agentsuite_kit.db import UnitOfWork, make_engine
from agentsuite_kit.db.rls import grant_statements, rls_statements
from agentsuite_kit.db.tables import inbox, kit_metadata

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench.raw_baseline import (  # importable once ROOT is on the path
    CLAIM,
    CLAIM_MANY,
    EFFECT,
    EFFECT_MANY,
    SCOPE,
    quiet_logs,
    servers,
)

effects = Table(
    "effects",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", PgUUID(as_uuid=True), nullable=False),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=True),
    Column("applied_at", DateTime(timezone=True), server_default=func.now()),
)
_SA_SCOPE = text(
    "SELECT set_config('app.tenant_id', :t, true), set_config('app.all_tenants', '', true)"
)
TOPIC = "profile.notes.v1"


class Timer:
    """Per-piece durations of repeated runs; medians in microseconds."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}
        self._t = 0.0

    def start(self) -> None:
        self._t = time.perf_counter()

    def lap(self, piece: str) -> None:
        now = time.perf_counter()
        self.samples.setdefault(piece, []).append((now - self._t) * 1e6)
        self._t = now

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.samples.items()}


async def setup(admin_url: str) -> tuple[str, str]:
    """A database with the kit's tables and `effects` under RLS; (owner URL, app URL)."""
    name, password = f"profile_{secrets.token_hex(4)}", secrets.token_hex(12)
    app = f"{name}_app"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.execute(f"CREATE ROLE {app} LOGIN PASSWORD '{password}'")
    finally:
        await admin.close()
    base, _, _ = admin_url.rpartition("/")
    owner_url = f"{base}/{name}"
    engine = create_async_engine(owner_url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as conn:
        await conn.run_sync(kit_metadata.create_all)
        await conn.run_sync(effects.metadata.create_all)
        for table in ("inbox", "effects"):
            for statement in rls_statements(table, nullable=True) + grant_statements(table, app):
                await conn.execute(text(statement))
        await conn.execute(text(f"GRANT USAGE ON SEQUENCE effects_seq_seq TO {app}"))
    await engine.dispose()
    scheme, _, rest = owner_url.partition("://")
    app_url = f"{scheme}://{app}:{password}@{rest.split('@', 1)[1]}"
    return owner_url, app_url


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def _former_reset(dbapi_connection: Any, _record: ConnectionPoolEntry, reset_state: Any) -> None:
    """The RESET ALL hook db/engine.py had until the unit of work went transaction-local:
    rollback, then RESET ALL in a transaction of its own (BEGIN, RESET ALL, COMMIT)."""
    if reset_state.terminate_only:
        return
    dbapi_connection.rollback()
    cursor = dbapi_connection.cursor()
    cursor.execute("RESET ALL")
    cursor.close()
    dbapi_connection.commit()


def former_engine(url: str, *, ping: bool = True, reset: bool = True) -> AsyncEngine:
    """The kit engine as it was (pool_pre_ping, RESET ALL on return), or parts of it."""
    engine = create_async_engine(sa_url(url), pool_size=5, pool_pre_ping=ping)
    if reset:
        event.listen(engine.sync_engine, "reset", _former_reset)
    return engine


@dataclass(frozen=True, slots=True)
class Measured:
    pieces: dict[str, float]
    """Median wall-clock microseconds per piece."""
    cpu: float
    """Mean microseconds of this process's CPU per event: what caps one event loop, however
    many consumers share it (the database's CPU is not in it)."""


async def repeat(n: int, step: Callable[[Timer], Awaitable[None]]) -> Measured:
    timer = Timer()
    for _ in range(min(200, n // 5)):  # warm-up: pool filled, statements cached
        await step(Timer())
    cpu = time.process_time()
    for _ in range(n):
        timer.start()
        await step(timer)
    return Measured(timer.medians(), (time.process_time() - cpu) * 1e6 / n)


async def pool_costs(url: str, n: int) -> dict[str, Measured]:
    engines = {
        "kit engine now (make_engine)": make_engine(sa_url(url), pool_size=5),
        "+ pool_pre_ping": former_engine(url, reset=False),
        "+ RESET ALL hook": former_engine(url, ping=False),
        "+ both (the former kit engine)": former_engine(url),
    }
    out = {}
    for label, engine in engines.items():

        async def step(t: Timer, engine: AsyncEngine = engine) -> None:
            conn = await engine.connect()
            t.lap("checkout")
            await conn.close()
            t.lap("checkin")

        out[label] = await repeat(n, step)
        await engine.dispose()
    return out


class EffectUow(UnitOfWork):
    async def effect(self, event_id: UUID, tenant: UUID) -> None:
        await self.session.execute(insert(effects).values(event_id=event_id, tenant_id=tenant))

    async def effect_prebuilt(self, event_id: UUID, tenant: UUID) -> None:
        """The same INSERT, its statement built once, its values passed as parameters."""
        await self.session.execute(_EFFECT_ROWS, {"event_id": event_id, "tenant_id": tenant})

    async def effects(self, rows: list[dict[str, Any]]) -> None:
        """Rows queued by handlers, in one executemany (SQLAlchemy batches it into one INSERT)."""
        await self.session.execute(_EFFECT_ROWS, rows)


_EFFECT_ROWS = insert(effects)


async def kit_path(engine: AsyncEngine, n: int, *, prebuilt: bool = False) -> Measured:
    """The consumer's per-event unit of work, as messaging/consumer.py `_run` drives it;
    `prebuilt`: the effect's statement is built once (as the sample's is not)."""
    tenant = uuid4()

    async def step(t: Timer) -> None:
        event_id = uuid4()
        async with EffectUow(engine, tenant_id=tenant, held=True) as uow:
            t.lap("enter (checkout, BEGIN, set_config)")
            await uow.inbox.claim_many("profile", [(event_id, TOPIC, tenant)])
            t.lap("claim_many")
            if prebuilt:
                await uow.effect_prebuilt(event_id, tenant)
                t.lap("effect (prebuilt statement)")
            else:
                await uow.effect(event_id, tenant)
                t.lap("effect (insert().values() per call)")
            await uow.finish()
            t.lap("finish (COMMIT)")
        t.lap("exit (checkin)")

    return await repeat(n, step)


async def batches(n: int, batch: int, step: Callable[[Timer], Awaitable[None]]) -> Measured:
    """`repeat` for steps of `batch` events; pieces and CPU per event."""
    timer, rounds = Timer(), max(4, n // batch)
    for _ in range(2):
        await step(Timer())
    cpu = time.process_time()
    for _ in range(rounds):
        timer.start()
        await step(timer)
    per_event = {k: v / batch for k, v in timer.medians().items()}
    return Measured(per_event, (time.process_time() - cpu) * 1e6 / (rounds * batch))


async def kit_batch(engine: AsyncEngine, n: int, batch: int, *, queued: bool = False) -> Measured:
    """The consumer's batched run: one unit of work, one claim_many, a handler per event
    (`queued`: handlers queue their rows, written by one executemany before the commit)."""
    tenant = uuid4()

    async def step(t: Timer) -> None:
        ids = [uuid4() for _ in range(batch)]
        async with EffectUow(engine, tenant_id=tenant, held=True) as uow:
            t.lap("enter")
            await uow.inbox.claim_many("profile", [(e, TOPIC, tenant) for e in ids])
            t.lap("claim_many")
            if queued:
                await uow.effects([{"event_id": e, "tenant_id": tenant} for e in ids])
                t.lap("handlers: rows queued, one executemany")
            else:
                for e in ids:
                    await uow.effect(e, tenant)
                t.lap("handlers: one INSERT each")
            await uow.finish()
            t.lap("finish (COMMIT)")
        t.lap("exit")

    return await batches(n, batch, step)


async def raw_batch(url: str, n: int, batch: int) -> Measured:
    """The same batch on raw asyncpg: bulk claim, bulk effect."""
    tenant = uuid4()
    conn = await asyncpg.connect(url)

    async def step(t: Timer) -> None:
        ids = [uuid4() for _ in range(batch)]
        async with conn.transaction():
            await conn.execute(SCOPE, str(tenant), "")
            t.lap("BEGIN + set_config")
            claimed = await conn.fetch(CLAIM_MANY, "profile", ids, TOPIC, tenant)
            t.lap("bulk claim")
            await conn.execute(EFFECT_MANY, [r[0] for r in claimed], tenant)
            t.lap("bulk effect")
        t.lap("COMMIT")

    try:
        return await batches(n, batch, step)
    finally:
        await conn.close()


async def sa_connection(engine: AsyncEngine, n: int, *, pooled: bool) -> Measured:
    """The five statements on an AsyncConnection: checked out per event, or held."""
    tenant = uuid4()
    claim = text(
        "INSERT INTO inbox (consumer, event_id, topic, tenant_id) VALUES (:c, :e, :tp, :t) "
        "ON CONFLICT DO NOTHING RETURNING event_id"
    )
    effect = text("INSERT INTO effects (event_id, tenant_id) VALUES (:e, :t)")
    held = None if pooled else await engine.connect()

    async def statements(conn: Any, t: Timer) -> None:
        e = uuid4()
        await conn.begin()
        t.lap("begin() (Python only: BEGIN is sent lazily)")
        await conn.execute(_SA_SCOPE, {"t": str(tenant)})
        t.lap("BEGIN + set_config")
        await conn.execute(claim, {"c": "profile", "e": e, "tp": TOPIC, "t": tenant})
        t.lap("claim")
        await conn.execute(effect, {"e": e, "t": tenant})
        t.lap("effect")
        await conn.commit()
        t.lap("COMMIT")

    async def step(t: Timer) -> None:
        if held is not None:
            await statements(held, t)
            return
        async with engine.connect() as conn:
            t.lap("checkout")
            await statements(conn, t)
        t.lap("checkin")

    try:
        return await repeat(n, step)
    finally:
        if held is not None:
            await held.close()


async def sa_session_core(engine: AsyncEngine, n: int) -> Measured:
    """The five statements as Core on a plain AsyncSession (no unit of work, no listener)."""
    tenant = uuid4()

    async def step(t: Timer) -> None:
        e = uuid4()
        async with AsyncSession(engine) as session:
            await session.execute(_SA_SCOPE, {"t": str(tenant)})
            t.lap("checkout + BEGIN + set_config")
            await session.execute(
                insert(inbox)
                .values(consumer="profile", event_id=e, topic=TOPIC, tenant_id=tenant)
                .returning(inbox.c.event_id)
            )
            t.lap("claim")
            await session.execute(insert(effects).values(event_id=e, tenant_id=tenant))
            t.lap("effect")
            await session.commit()
            t.lap("COMMIT")
        t.lap("close + checkin")

    return await repeat(n, step)


@asynccontextmanager
async def held_or_pooled(
    pool: asyncpg.Pool | None, conn: asyncpg.Connection | None
) -> AsyncIterator[asyncpg.Connection]:
    if pool is not None:
        async with pool.acquire() as c:
            yield c
    else:
        assert conn is not None
        yield conn


async def raw(url: str, n: int, *, pooled: bool) -> Measured:
    """The five statements on raw asyncpg, each timed: its round trips, nothing else."""
    tenant = uuid4()
    pool = await asyncpg.create_pool(url, min_size=2, max_size=2) if pooled else None
    conn = None if pooled else await asyncpg.connect(url)

    async def step(t: Timer) -> None:
        e = uuid4()
        async with held_or_pooled(pool, conn) as c:
            if pooled:
                t.lap("acquire")
            await c.execute("BEGIN")
            t.lap("BEGIN")
            await c.execute(SCOPE, str(tenant), "")
            t.lap("set_config")
            await c.fetchval(CLAIM, "profile", e, TOPIC, tenant)
            t.lap("claim")
            await c.execute(EFFECT, e, tenant)
            t.lap("effect")
            await c.execute("COMMIT")
            t.lap("COMMIT")
        if pooled:
            t.lap("release (asyncpg reset)")

    try:
        return await repeat(n, step)
    finally:
        if pool is not None:
            await pool.close()
        if conn is not None:
            await conn.close()


def show(title: str, m: Measured) -> Measured:
    total = sum(m.pieces.values())
    print(f"\n{title}: {total:.0f} us/event, {m.cpu:.0f} us of it Python CPU")
    for piece, us in m.pieces.items():
        print(f"  {piece:<44} {us:7.0f} us")
    return m


async def run(admin_url: str, n: int) -> None:
    owner_url, app_url = await setup(admin_url)
    print(f"events per measurement: {n} (medians)")
    for label, pieces in (await pool_costs(app_url, n)).items():
        show(f"pool checkout+checkin, {label}", pieces)
    kit = make_engine(sa_url(app_url), pool_size=5)
    former = former_engine(app_url)
    stacks: list[tuple[str, str, Awaitable[Measured]]] = [
        ("kit unit of work", "kit per-event unit of work (make_engine)", kit_path(kit, n)),
        (
            "kit unit of work, prebuilt effect",
            "kit per-event unit of work, effect statement built once (make_engine)",
            kit_path(kit, n, prebuilt=True),
        ),
        (
            "kit unit of work, former engine",
            "kit per-event unit of work on the former engine (pre-ping, RESET ALL)",
            kit_path(former, n),
        ),
        (
            "kit batch of 500",
            "kit batched run of 500, handlers INSERT one by one, per event",
            kit_batch(kit, n, 500),
        ),
        (
            "kit batch of 500, queued rows",
            "kit batched run of 500, handlers' rows in one executemany, per event",
            kit_batch(kit, n, 500, queued=True),
        ),
        ("raw batch of 500", "raw asyncpg batch of 500, per event", raw_batch(app_url, n, 500)),
        ("AsyncSession + Core", "AsyncSession + Core (make_engine)", sa_session_core(kit, n)),
        (
            "AsyncConnection per event",
            "AsyncConnection checked out per event (make_engine)",
            sa_connection(kit, n, pooled=True),
        ),
        (
            "AsyncConnection held",
            "AsyncConnection held across events",
            sa_connection(kit, n, pooled=False),
        ),
        (
            "asyncpg pool per event",
            "raw asyncpg, pool acquire per event",
            raw(app_url, n, pooled=True),
        ),
        (
            "asyncpg held (RLS)",
            "raw asyncpg, held connection, app role (RLS)",
            raw(app_url, n, pooled=False),
        ),
        (
            "asyncpg held (no RLS)",
            "raw asyncpg, held connection, superuser (no RLS)",
            raw(owner_url, n, pooled=False),
        ),
    ]
    totals = {}
    for label, title, measuring in stacks:  # one at a time: they share two cores
        totals[label] = show(title, await measuring)
    await kit.dispose()
    await former.dispose()
    print(
        "\nsummary: wall us/event, events/s on one connection, Python CPU us/event, "
        "events/s one event loop can drive at most"
    )
    for label, m in totals.items():
        us = sum(m.pieces.values())
        print(f"  {label:<36} {us:6.0f} us {1e6 / us:6.0f}/s {m.cpu:6.0f} us {1e6 / m.cpu:6.0f}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    quiet_logs()
    with servers(broker=False) as (admin, _bootstrap, _label):
        asyncio.run(run(admin, args.events))


if __name__ == "__main__":
    main()
