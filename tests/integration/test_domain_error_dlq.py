"""A consumer handler's `DomainError` (a rule refused the event) is dead-lettered at once,
reason `invalid`, without walking the retry tiers: another try cannot change the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.errors import Conflict
from agentsuite_kit.messaging.consumer import Outcome
from tests.integration.kafka_helpers import (
    counted,
    effect_counts,
    fresh_topic,
    note_event,
    produce,
    read_all,
    record_effect,
    start_consumer,
)
from tests.integration.sample.uow import SampleUow


async def test_a_domain_error_is_dead_lettered_at_once_as_invalid(
    uow: Callable[..., SampleUow], kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)

    async def handler(envelope: Envelope[Any], u: SampleUow) -> None:
        if envelope.payload.body == "refused":
            raise Conflict("note_closed", "the note is closed", field="body")
        await record_effect(envelope, u)

    refused = note_event(tenant, "refused")
    after = note_event(tenant, "after")
    await produce(
        kafka_bootstrap,
        topic,
        [refused.model_dump_json().encode(), after.model_dump_json().encode()],
    )
    group = f"sample.refusal-{topic}"
    running = await start_consumer(kafka_bootstrap, topic, uow, handler, group=group)
    try:
        await counted(running.consumer, Outcome.DEAD_LETTERED, 1)
        await counted(running.consumer, Outcome.APPLIED, 1)
        dead = await read_all(kafka_bootstrap, dead_letter_topic(group), expect=1)
        letter = DeadLetter.from_headers({k: v.decode() for k, v in dead[0].headers})
        assert letter.reason == "invalid"
        assert letter.error == "note_closed: the note is closed"
        assert bytes(dead[0].value) == refused.model_dump_json().encode()
        # no retry tier saw it: the refusal went straight to the group's DLQ
        assert running.consumer.counts[Outcome.RETRYING] == 0
        assert await effect_counts(uow, tenant) == (1, 1)
    finally:
        await running.stop()
