"""Redelivery as the service standard has it: each event delivered 1-5 times (the same
envelope again, or the fact re-sent in a new envelope), shuffled across keys; and knowing
when a consumer group has taken everything on a topic."""

from __future__ import annotations

import random
from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.envelope import Envelope
from tests.integration.kafka_helpers import partitions_of


def deliveries(rng: random.Random, events: list[Envelope[Any]]) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    for event in events:
        out.append(event)
        for _ in range(rng.randint(0, 4)):
            again = event if rng.random() < 0.5 else event.model_copy(update={"id": uuid4()})
            out.append(again)
    rng.shuffle(out)
    return out


async def caught_up(kafka: str, group: str, topic: str) -> bool:
    """Whether `group` has committed every partition of `topic` to its end offset: every
    record sent before the call was handled (a same-id copy leaves no other trace)."""
    # the group's own id with no subscription: reads its committed offsets, never joins it
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await partitions_of(kafka, topic)
        assert parts, f"{topic} has no partitions"
        ends = await consumer.end_offsets(parts)
        committed = {p: await consumer.committed(p) for p in parts}
    finally:
        await consumer.stop()
    return all((committed[p] or 0) >= end for p, end in ends.items())
