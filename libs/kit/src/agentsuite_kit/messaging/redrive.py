"""Redrive: give a consumer group's dead letters back to that group alone, once fixed.

Dead letters of group `g` sit in `g.dlq`; a redrive republishes them to `g.retry.1`, due
now, which only `g` reads: other groups of the source topic never see the copies. If a
message fails again it walks the retry tiers and lands in `g.dlq` once more.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from agentsuite_contracts.deadletter import (
    PREFIX,
    RETRY_PREFIX,
    DeadLetter,
    RetryState,
    dead_letter_topic,
    retry_topic,
)
from agentsuite_kit.messaging.admin import partitions

log = logging.getLogger(__name__)


async def redrive(bootstrap: str, group: str, *, limit: int | None = None) -> int:
    """Republish `<group>.dlq` records to `<group>.retry.1`; return how many were moved.

    Offsets of the redrive's own group are committed only after the republish is
    acknowledged, so a crash mid-way re-sends rather than drops; consumers dedupe by event
    id. Stops at the end offsets seen at the start, so records dead-lettered meanwhile
    wait for the next run instead of looping.
    """
    source = dead_letter_topic(group)
    target = retry_topic(group, 1)
    # assigned, not subscribed: the group only stores offsets, so no rebalance to wait for
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"{group}.redrive",
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
                    headers = _redriven(rec.headers, f"{source}:{tp.partition}:{rec.offset}")
                    await producer.send_and_wait(target, rec.value, key=rec.key, headers=headers)
                    await consumer.commit({tp: rec.offset + 1})
                    moved += 1
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
        return moved
    finally:
        await consumer.stop()
        await producer.stop()


def _redriven(raw: list[tuple[str, bytes]], origin: str) -> list[tuple[str, bytes]]:
    """The original headers with a retry state due now, pointing at the first source."""
    text = {k: v.decode(errors="replace") for k, v in raw}
    kept = [(k, v) for k, v in raw if not k.startswith((PREFIX, RETRY_PREFIX))]
    try:
        letter: DeadLetter | None = DeadLetter.from_headers(text)
    except ValidationError:  # written by hand or by an older kit: origin unknown
        letter = None
    state = RetryState(
        due_at=datetime.now(UTC),
        tier=1,
        topic=letter.topic if letter else "unknown",
        partition=letter.partition if letter else 0,
        offset=letter.offset if letter else 0,
        error=f"redriven from {origin}",
    )
    kept += [(k, v.encode()) for k, v in state.headers().items()]
    kept.append(("redriven-from", origin.encode()))
    return kept


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
    committed = await consumer.committed(tp)
    if committed is not None:
        return int(committed)
    return int((await consumer.beginning_offsets([tp]))[tp])
