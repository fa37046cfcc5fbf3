"""Poison messages go to `<topic>.dlq` with the error, later messages keep flowing, and a
redrive brings dead letters back once the cause is fixed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from agentsuite_contracts.deadletter import DeadLetter
from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.messaging.consumer import Outcome
from agentsuite_kit.messaging.redrive import redrive
from tests.integration.kafka_helpers import (
    effect_counts,
    eventually,
    fresh_topic,
    note_event,
    read_all,
    record_effect,
    start_consumer,
)
from tests.integration.sample.model import SampleUow


@pytest.mark.parametrize("batch", [1, 100], ids=["one-by-one", "batched"])
async def test_poison_goes_to_dlq_later_messages_flow_and_redrive_recovers(
    uow: Callable[[UUID | None], SampleUow], kafka_bootstrap: str, batch: int
) -> None:
    tenant = uuid4()
    # one partition: the poison sits in front of the good messages on the same partition
    topic = await fresh_topic(kafka_bootstrap, partitions=1)
    fixed = False

    async def handler(envelope: Envelope[Any], u: SampleUow) -> None:
        if envelope.payload.body == "boom" and not fixed:
            raise RuntimeError("downstream says no")
        await record_effect(envelope, u)

    boom = note_event(tenant, "boom")
    good = [note_event(tenant, f"good-{i}") for i in range(5)]
    unknown = json.loads(note_event(tenant, "x").model_dump_json())
    unknown["type"] = unknown["payload"]["type"] = "sample.note.exploded"

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in (
            b"{not json",
            json.dumps(unknown).encode(),
            boom.model_dump_json().encode(),
            *(g.model_dump_json().encode() for g in good),
        ):
            await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()

    broker, consumer = await start_consumer(kafka_bootstrap, topic, uow, handler, batch=batch)
    try:

        async def good_applied() -> bool:
            return consumer.counts[Outcome.APPLIED] == len(good)

        await eventually(good_applied)
        assert consumer.counts[Outcome.DEAD_LETTERED] == 3
        assert await effect_counts(uow, tenant) == (5, 5)

        dead = await read_all(kafka_bootstrap, f"{topic}.dlq", expect=3)
        reasons = [dict((k, v.decode()) for k, v in r.headers) for r in dead]
        assert [h["dlq-reason"] for h in reasons] == ["invalid", "invalid", "handler-failed"]
        assert "downstream says no" in reasons[2]["dlq-error"]
        assert "exploded" in reasons[1]["dlq-error"] or "type" in reasons[1]["dlq-error"]
        assert all(h["dlq-topic"] == topic for h in reasons)
        letter = DeadLetter.from_headers(reasons[2])
        assert (letter.reason, letter.offset, letter.consumer) == (
            "handler-failed",
            2,
            consumer.name,
        )
        assert [int(h["dlq-offset"]) for h in reasons] == [0, 1, 2]
        assert dead[2].value == boom.model_dump_json().encode()  # the original bytes

        fixed = True
        assert await redrive(kafka_bootstrap, topic) == 3

        async def boom_applied() -> bool:
            return consumer.counts[Outcome.APPLIED] == len(good) + 1

        await eventually(boom_applied)
        # the two still-invalid ones are dead-lettered again, after the three old records
        again = await read_all(kafka_bootstrap, f"{topic}.dlq", expect=5)
        assert len(again) == 5
        assert all(dict(r.headers).get("redriven-from") for r in again[3:])
        assert consumer.counts[Outcome.DEAD_LETTERED] == 5
        assert await effect_counts(uow, tenant) == (6, 6)
    finally:
        await broker.stop()
