"""Outbox -> broker -> consumer throughput, on the embedded stack or external servers.

    uv run python bench/outbox_throughput.py [--events N] [--batch N]

Writes N events through units of work (state + outbox in one transaction), then runs the
relay and an inbox-deduplicating consumer and times: outbox writes, relay publishing,
and the end-to-end apply rate (relay start -> last event applied). Point it at other
servers with AGENTSUITE_BENCH_DATABASE_URL / AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from agentsuite_cli.embedded import EmbeddedBroker, EmbeddedPostgres, free_port  # noqa: E402
from agentsuite_kit.db import make_engine, make_sessionmaker  # noqa: E402
from agentsuite_kit.messaging.broker import BrokerSender, make_broker  # noqa: E402
from agentsuite_kit.messaging.consumer import Outcome  # noqa: E402
from agentsuite_kit.outbox import OutboxRelay  # noqa: E402
from agentsuite_kit.settings import ServiceSettings  # noqa: E402
from bench.raw_baseline import quiet_logs  # noqa: E402
from tests.integration.kafka_helpers import fresh_topic, note_event, start_consumer  # noqa: E402
from tests.integration.sample.model import SampleUow  # noqa: E402
from tests.integration.sample.setup import create_db  # noqa: E402

# E402 above: the sample service lives under tests/, importable once ROOT is on the path


class BenchSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGENTSUITE_BENCH_", extra="ignore")

    database_url: str | None = None
    kafka_bootstrap_servers: str | None = None


@contextlib.contextmanager
def servers(settings: BenchSettings) -> Iterator[tuple[str, str, str]]:
    """(admin URL, bootstrap, label) — embedded ones unless configured."""
    with tempfile.TemporaryDirectory(prefix="agentsuite-bench-") as tmp:
        home = Path(tmp)
        pg = broker = None
        try:
            if settings.database_url is None:
                pg = EmbeddedPostgres(home, free_port())
                pg.start()
            if settings.kafka_bootstrap_servers is None:
                broker = EmbeddedBroker(home, free_port())
                broker.start()
            admin = settings.database_url or (pg.url() if pg else "")
            bootstrap = settings.kafka_bootstrap_servers or (broker.bootstrap if broker else "")
            label = "embedded tansu" if broker else f"kafka at {bootstrap}"
            yield admin, bootstrap, label
        finally:
            if broker:
                broker.stop()
            if pg:
                pg.stop()


async def run(events: int, batch: int, per_tx: int, workers: int, fetch: int) -> None:
    settings = BenchSettings()
    with servers(settings) as (admin, bootstrap, label):
        db = await create_db(admin, "bench", Path(tempfile.mkdtemp()) / "pw.json")
        engine = make_engine(db.url(admin), pool_size=10)
        sessions = make_sessionmaker(engine)

        def uow(tenant: object) -> SampleUow:
            return SampleUow(sessions, tenant_id=tenant)  # type: ignore[arg-type]  # UUID | None

        topic = await fresh_topic(bootstrap)
        tenant = uuid4()

        t0 = time.perf_counter()
        for start in range(0, events, per_tx):
            async with uow(tenant) as u:
                for i in range(start, min(events, start + per_tx)):
                    u.emit(note_event(tenant, f"n{i}"), topic=topic)
                await u.commit()
        write_s = time.perf_counter() - t0

        broker = await make_broker(
            ServiceSettings(database_url=db.url(admin), kafka_bootstrap_servers=bootstrap)  # type: ignore[arg-type]  # SecretStr accepts str
        )
        await broker.start()
        consumer_broker, consumer = await start_consumer(
            bootstrap, topic, uow, workers=workers, batch=fetch
        )
        relay = OutboxRelay(engine, BrokerSender(broker), batch_size=batch, poll_interval=0.05)
        stop = asyncio.Event()
        t1 = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        relay_s = None
        first_applied = None
        while consumer.counts[Outcome.APPLIED] < events:
            if relay_s is None and relay.published >= events:
                relay_s = time.perf_counter() - t1
            if first_applied is None and consumer.counts[Outcome.APPLIED] > 0:
                first_applied = time.perf_counter()
            await asyncio.sleep(0.01)
        done = time.perf_counter()
        e2e_s = done - t1
        apply_s = done - (first_applied or t1)
        relay_s = relay_s or e2e_s
        stop.set()
        await task
        await consumer_broker.stop()
        await broker.stop()
        await engine.dispose()

        print(
            f"broker: {label}; events: {events}; relay batch: {batch}; "
            f"events/tx: {per_tx}; consumer workers: {workers}; consumer batch: {fetch}"
        )
        print(f"outbox writes:       {events / write_s:10.0f} events/s ({write_s:.2f} s)")
        print(f"relay publish:       {events / relay_s:10.0f} events/s ({relay_s:.2f} s)")
        print(
            f"outbox->consumer:    {events / e2e_s:10.0f} events/s ({e2e_s:.2f} s, "
            "applied once each via inbox)"
        )
        print(
            f"consumer apply:      {events / apply_s:10.0f} events/s ({apply_s:.2f} s, "
            "first to last applied)"
        )
        print(f"duplicates skipped:  {consumer.counts[Outcome.DUPLICATE]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="relay batch size")
    parser.add_argument("--per-tx", type=int, default=100, help="events per unit of work")
    parser.add_argument("--workers", type=int, default=1, help="consumers in the group")
    parser.add_argument(
        "--fetch", type=int, default=500, help="consumer batch: records applied per fetch"
    )
    args = parser.parse_args()
    quiet_logs()  # plain numbers: no INFO lines, no ANSI colour from faststream
    asyncio.run(run(args.events, args.batch, args.per_tx, args.workers, args.fetch))


if __name__ == "__main__":
    main()
