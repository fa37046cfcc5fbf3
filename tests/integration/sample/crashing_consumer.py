"""A sample consumer in its own process whose handler kills the process on "crash":
the crash guard test starts it again and again.

python -m tests.integration.sample.crashing_consumer APP_URL BOOTSTRAP TOPIC GROUP
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaProducer

from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.db import make_engine
from agentsuite_kit.messaging.consumer import Consumer
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.messaging.policy import RetryPolicy
from agentsuite_kit.messaging.producer import publisher
from tests.integration.sample.messages import NoteAdded, sample_registry
from tests.integration.sample.uow import SampleUow


async def handler(envelope: Envelope[Any], uow: SampleUow) -> None:
    if envelope.payload.body == "crash":
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no commit: a real process death
    await uow.effects.record(envelope.id, envelope.tenant_id)


async def main(url: str, bootstrap: str, topic: str, group: str) -> None:
    engine = make_engine(url, pool_size=2)

    def uow(tenant: UUID | None, *, held: bool = False, all_tenants: bool = False) -> SampleUow:
        return SampleUow(engine, tenant_id=tenant, held=held, all_tenants=all_tenants)

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    consumer = Consumer[SampleUow](
        group=group,
        handlers={NoteAdded: handler},
        uow=uow,
        publish=publisher(producer),
        policy=RetryPolicy(tiers=(0.1,), max_crashes=2),
    )
    running = ConsumerGroup[SampleUow](
        consumer,
        topic,
        bootstrap,
        progress=lambda: uow(None),
        # the broker's least: a dead predecessor's membership expires sooner
        kafka_options={"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000},
        registry=sample_registry(topic),
    )
    await running.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await running.stop()
    await producer.stop()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
