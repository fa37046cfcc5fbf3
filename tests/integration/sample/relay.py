"""Run the sample service's outbox relay as its own process, so a test can SIGKILL it.

python -m tests.integration.sample.relay DATABASE_URL BOOTSTRAP BATCH_SIZE
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaProducer

from agentsuite_kit.db import make_engine
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.messaging.relay import OutboxRelay


async def main(url: str, bootstrap: str, batch: int) -> None:
    engine = make_engine(url, pool_size=2)
    broker = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await broker.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await OutboxRelay(engine, ProducerSender(broker), batch_size=batch, poll_interval=0.05).run(
            stop
        )
    finally:
        await broker.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
