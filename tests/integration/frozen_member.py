"""A consumer-group member to freeze with SIGSTOP: `python -m tests.integration.frozen_member
<bootstrap> <topic> <group>`. Prints `joined` once in the group; leaves it on SIGTERM.

Frozen, it neither heartbeats nor rejoins, so no rebalance of its group completes until
its (long) session runs out: what a member that died silently holds a join up with.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer

SESSION_MS = 240_000


async def main(bootstrap: str, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        session_timeout_ms=SESSION_MS,
        rebalance_timeout_ms=SESSION_MS,
        max_poll_interval_ms=SESSION_MS,
        heartbeat_interval_ms=3000,
        # it must never take a record from the service it stands beside: resumed, it may
        # fetch the note before it leaves, and an automatic commit would pass it by
        enable_auto_commit=False,
        # some brokers answer a join only when the rebalance they started ends
        request_timeout_ms=SESSION_MS + 60_000,
    )
    await consumer.start()
    print("joined", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    while not stop.is_set():
        await consumer.getmany(timeout_ms=200)
    await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
