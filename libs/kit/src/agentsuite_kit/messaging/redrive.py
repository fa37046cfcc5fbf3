"""Redrive: move dead letters back to the topic they came from, once fixed."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agentsuite_contracts.deadletter import PREFIX, dead_letter_topic
from agentsuite_kit.messaging.admin import partitions

log = logging.getLogger(__name__)


async def redrive(
    bootstrap: str, topic: str, *, limit: int | None = None, group: str = "agentsuite-redrive"
) -> int:
    """Republish `<topic>.dlq` records to `topic`; return how many were moved.

    Offsets of the redrive group are committed only after the republish is acknowledged,
    so a crash mid-way re-sends rather than drops; consumers dedupe by event id. Stops at
    the end offsets seen at the start, so records dead-lettered meanwhile wait for the
    next run instead of looping.
    """
    source = dead_letter_topic(topic)
    # assigned, not subscribed: the group only stores offsets, so no rebalance to wait for
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    moved = 0
    try:
        tps = [TopicPartition(source, p) for p in await partitions(bootstrap, source)]
        consumer.assign(tps)
        starts = {tp: await _position(consumer, tp) for tp in tps}
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > starts[tp]}
        while pending and (limit is None or moved < limit):
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=500)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset >= ends[tp] or (limit is not None and moved >= limit):
                        pending.discard(tp)
                        break
                    headers = [(k, v) for k, v in rec.headers if not k.startswith(PREFIX)]
                    origin = f"{source}:{tp.partition}:{rec.offset}"
                    headers.append(("redriven-from", origin.encode()))
                    await producer.send_and_wait(topic, rec.value, key=rec.key, headers=headers)
                    await consumer.commit({tp: rec.offset + 1})
                    moved += 1
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
        return moved
    finally:
        await consumer.stop()
        await producer.stop()


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    committed = await consumer.committed(tp)
    if committed is not None:
        return int(committed)
    return int((await consumer.beginning_offsets([tp]))[tp])
