"""Outbox -> broker -> consumer through the kit, beside the raw baseline on the same servers.

    uv run python bench/outbox_throughput.py [--events N] [--mode batched|one-by-one]
                                             [--workers N] [--partitions N]

The kit's path: units of work write N events (100 per transaction) to the outbox; the
relay (`OutboxRelay` on the kit's producer) publishes them alone; a consumer group
(`ConsumerGroup`: inbox + the sample's deferred effect row) applies them alone; then end
to end, as a service runs it: N more rows waiting, the group up, the relay started, timed
to the last applied event. `bench/raw_baseline.py` then measures plain aiokafka +
asyncpg on the same servers, and each kit rate is printed with its ratio to raw.
Embedded servers unless AGENTSUITE_BENCH_DATABASE_URL /
AGENTSUITE_BENCH_KAFKA_BOOTSTRAP_SERVERS are set.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid4

from pydantic import SecretStr

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from agentsuite_cli.provision import deprovision  # noqa: E402
from agentsuite_kit.db import make_engine  # noqa: E402
from agentsuite_kit.messaging.consumer import Outcome  # noqa: E402
from agentsuite_kit.messaging.producer import ProducerSender, make_producer  # noqa: E402
from agentsuite_kit.messaging.relay import OutboxRelay  # noqa: E402
from agentsuite_kit.settings import ServiceSettings  # noqa: E402
from bench.raw_baseline import measure, quiet_logs, ratio, servers  # noqa: E402
from tests.integration.kafka_helpers import (  # noqa: E402
    Running,
    fresh_topic,
    note_event,
    start_consumer,
)
from tests.integration.sample.setup import create_db  # noqa: E402
from tests.integration.sample.uow import SampleUow  # noqa: E402

# E402 above: the sample service lives under tests/, importable once ROOT is on the path


@dataclass
class KitRates:
    writes: float
    relay: float
    end_to_end: float
    consumer: float


async def applied(running: Running, events: int) -> tuple[float, float]:
    """Wait until `events` are applied: (first outcome, last applied) monotonic times."""
    first = None
    counts = running.consumer.counts
    while counts[Outcome.APPLIED] < events:
        if first is None and sum(counts.values()) > 0:
            first = time.perf_counter()
        await asyncio.sleep(0.005)
    done = time.perf_counter()
    return first or done, done


async def kit(
    admin: str, bootstrap: str, events: int, *, batched: bool, workers: int, partitions: int
) -> KitRates:
    db = await create_db(admin, "bench", Path(tempfile.mkdtemp()) / "pw.json")
    engine = make_engine(db.url(admin), pool_size=10)

    def uow(tenant: UUID | None, *, held: bool = False, all_tenants: bool = False) -> SampleUow:
        made = SampleUow(engine, tenant_id=tenant, held=held, all_tenants=all_tenants)
        made.producer = "bench"
        return made

    async def write(topic: str, tenant: UUID) -> float:
        t0 = time.perf_counter()
        for start in range(0, events, 100):
            async with uow(tenant) as u:
                for i in range(start, min(events, start + 100)):
                    u.emit(note_event(tenant, f"n{i}"), topic=topic)
                await u.commit()
        return events / (time.perf_counter() - t0)

    settings = ServiceSettings(
        database_url=SecretStr(db.url(admin)), kafka_bootstrap_servers=bootstrap
    )
    producer = await make_producer(settings)
    try:
        # relay alone, then the consumer alone on what it published (what raw measures)
        topic = await fresh_topic(bootstrap, partitions=partitions)
        writes = await write(topic, uuid4())
        relay = OutboxRelay(engine, ProducerSender(producer), poll_interval=0.05)
        stop = asyncio.Event()
        t0 = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        # polling is the measurement: the relay signals nothing when a count is reached
        while relay.published < events:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        relay_rate = events / (time.perf_counter() - t0)
        stop.set()
        await task
        alone = await start_consumer(bootstrap, topic, uow, workers=workers, batch=batched)
        first, last = await applied(alone, events)
        await alone.stop()

        # end to end, as a service runs: rows waiting, consumer up, relay starts
        topic = await fresh_topic(bootstrap, partitions=partitions)
        await write(topic, uuid4())
        group = await start_consumer(bootstrap, topic, uow, workers=workers, batch=batched)
        relay = OutboxRelay(engine, ProducerSender(producer), poll_interval=0.05)
        stop = asyncio.Event()
        t1 = time.perf_counter()
        task = asyncio.create_task(relay.run(stop))
        _, done = await applied(group, events)
        stop.set()
        await task
        await group.stop()
        return KitRates(writes, relay_rate, events / (done - t1), events / (last - first))
    finally:
        await producer.stop()
        await engine.dispose()
        await deprovision(admin, [db])


async def run(events: int, batched: bool, workers: int, partitions: int) -> None:
    with servers() as (admin, bootstrap, label):
        mode = f"batched, {workers} worker(s)" if batched else f"one-by-one, {workers} worker(s)"
        rates = await kit(
            admin, bootstrap, events, batched=batched, workers=workers, partitions=partitions
        )
        raw = await measure(admin, bootstrap, events, workers=(workers,), partitions=partitions)
        print(f"broker: {label}; events: {events}; consumer: {mode}; partitions: {partitions}")
        print(f"kit outbox writes:   {rates.writes:8.0f} events/s (100 per unit of work)")
        print(f"kit relay:           {ratio(rates.relay, raw.relay)}")
        consumer_raw = raw.batched if batched else raw.per_event[workers]
        print(f"kit consumer:        {ratio(rates.consumer, consumer_raw)}")
        print(f"kit end to end:      {ratio(rates.end_to_end, raw.end_to_end)}")
        print("\n".join(raw.lines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--mode", choices=("batched", "one-by-one"), default="batched")
    parser.add_argument("--workers", type=int, default=1, help="consumers in the group")
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()
    quiet_logs()
    asyncio.run(run(args.events, args.mode == "batched", args.workers, args.partitions))


if __name__ == "__main__":
    main()
