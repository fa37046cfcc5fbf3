"""Consumer behaviour on a real broker and database: batches that commit, transient
faults, handler timeouts, processes that die mid-message, and emitted follow-ups."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import select, text

from agentsuite_contracts.deadletter import DeadLetter, dead_letter_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.db.tables import outbox
from agentsuite_kit.messaging.consumer import Outcome
from agentsuite_kit.messaging.errors import TransientError
from tests.integration.conftest import SampleDb
from tests.integration.kafka_helpers import (
    FAST,
    counted,
    effect_counts,
    eventually,
    fresh_topic,
    note_event,
    produce,
    read_all,
    record_effect,
    start_consumer,
)
from tests.integration.sample.messages import NoteAdded
from tests.integration.sample.uow import SampleUow

ROOT = Path(__file__).parents[2]


async def test_batch_of_handlers_that_commit_applies_every_event(
    uow: Callable[..., SampleUow], kafka_bootstrap: str
) -> None:
    # Defect 1: a handler's commit() used to commit the run's inbox claims, the next
    # handler ran unscoped and failed RLS, and the one-by-one fallback found every event
    # "already applied": three events in, one effect, nothing dead-lettered.
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)

    async def committing(envelope: Envelope[Any], u: SampleUow) -> None:
        await u.effects.record(envelope.id, envelope.tenant_id)
        await u.commit()  # what services/README tells handlers to do
        await u.notes.all()  # a read after commit() in the same block: still scoped

    events = [note_event(tenant, f"n{i}") for i in range(3)]
    await produce(kafka_bootstrap, topic, [e.model_dump_json().encode() for e in events])
    running = await start_consumer(kafka_bootstrap, topic, uow, committing, batch=True)
    try:
        await counted(running.consumer, Outcome.APPLIED, 3)
        assert await effect_counts(uow, tenant) == (3, 3)
        assert running.consumer.counts[Outcome.DUPLICATE] == 0
    finally:
        await running.stop()


async def test_transient_faults_retry_in_place_without_dead_letters(
    uow: Callable[..., SampleUow], kafka_bootstrap: str, sample_db: SampleDb
) -> None:
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)
    calls = 0

    async def flaky(envelope: Envelope[Any], u: SampleUow) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            # a real lost connection: the server ends this session mid-transaction
            await u.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        if calls == 2:
            raise TransientError("the provider answered 503")
        await record_effect(envelope, u)

    group = f"sample.flaky-{topic}"
    await produce(kafka_bootstrap, topic, [note_event(tenant, "x").model_dump_json().encode()])
    running = await start_consumer(kafka_bootstrap, topic, uow, flaky, group=group)
    try:
        await counted(running.consumer, Outcome.APPLIED, 1)
        assert calls == 3
        assert await effect_counts(uow, tenant) == (1, 1)
        assert running.consumer.counts[Outcome.RETRYING] == 0
        assert running.consumer.counts[Outcome.DEAD_LETTERED] == 0
    finally:
        await running.stop()


async def test_handler_past_its_timeout_goes_to_a_retry_tier(
    uow: Callable[..., SampleUow], kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)
    slow_once = True

    async def slow(envelope: Envelope[Any], u: SampleUow) -> None:
        nonlocal slow_once
        if slow_once:
            slow_once = False
            await asyncio.sleep(60)
        await record_effect(envelope, u)

    policy = FAST.__class__(tiers=(0.1,), handler_timeout=0.5)
    await produce(kafka_bootstrap, topic, [note_event(tenant, "x").model_dump_json().encode()])
    running = await start_consumer(kafka_bootstrap, topic, uow, slow, policy=policy)
    try:
        await counted(running.consumer, Outcome.APPLIED, 1, within=30)
        assert running.consumer.counts[Outcome.RETRYING] == 1
        assert await effect_counts(uow, tenant) == (1, 1)
    finally:
        await running.stop()


async def test_message_that_kills_the_process_is_dead_lettered_after_max_crashes(
    sample_db: SampleDb, uow: Callable[..., SampleUow], kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)
    group = f"sample.crashy-{topic}"
    before = note_event(tenant, "before")
    after = note_event(tenant, "after")
    await produce(
        kafka_bootstrap,
        topic,
        [e.model_dump_json().encode() for e in (before, note_event(tenant, "crash"), after)],
    )
    deaths = 0
    for _ in range(6):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.sample.crashing_consumer",
            sample_db.app_url, kafka_bootstrap, topic, group,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip

        async def died_or_done(p: asyncio.subprocess.Process = proc) -> bool:
            return p.returncode is not None or (await effect_counts(uow, tenant))[0] == 2

        await eventually(died_or_done, within=90, every=0.2)
        if proc.returncode is not None:
            deaths += 1  # it killed itself on the poison message
            continue
        proc.terminate()  # alive and past the poison
        await proc.wait()
        break
    assert deaths == 2  # max_crashes=2: the third start buries it without running it
    assert await effect_counts(uow, tenant) == (2, 2)  # before and after, once each
    [dead] = await read_all(kafka_bootstrap, dead_letter_topic(group), expect=1)
    letter = DeadLetter.from_headers({k: v.decode() for k, v in dead.headers})
    assert letter.reason == "crashed"
    assert letter.offset == 1
    assert letter.attempts == 2


async def test_events_emitted_by_a_handler_carry_the_cause(
    uow: Callable[..., SampleUow], kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    topic = await fresh_topic(kafka_bootstrap, partitions=1)
    follow_topic = f"{topic}.follow"

    async def react(envelope: Envelope[Any], u: SampleUow) -> None:
        note = NoteAdded(note_id=uuid4(), body="reply")
        u.emit(
            note,
            subject=envelope.subject.model_copy(update={"id": str(note.note_id)}),
            topic=follow_topic,
        )
        await u.commit()

    source = note_event(tenant, "question")
    await produce(kafka_bootstrap, topic, [source.model_dump_json().encode()])
    running = await start_consumer(kafka_bootstrap, topic, uow, react)
    try:
        await counted(running.consumer, Outcome.APPLIED, 1)
    finally:
        await running.stop()
    async with uow(tenant) as u:
        [value] = (
            await u.session.execute(select(outbox.c.value).where(outbox.c.topic == follow_topic))
        ).scalars()
        await u.session.execute(outbox.delete().where(outbox.c.topic == follow_topic))
        await u.commit()
    emitted = Envelope[NoteAdded].model_validate_json(value)
    assert emitted.causation_id == source.id
    assert emitted.correlation_id == source.correlation_id
    assert emitted.tenant_id == tenant
    assert emitted.producer == "sample"
    assert emitted.sequence == 1
