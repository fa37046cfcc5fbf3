"""The consumer's decisions without Kafka or PostgreSQL: what is transient, where a failed
message goes next, when a crash-looping message is given up, and how a record decodes."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pydantic import Field
from sqlalchemy import exc as sa_exc

from agentsuite_contracts.deadletter import DeadLetter, RetryState
from agentsuite_contracts.envelope import Envelope, Event, Subject
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.messaging.consumer import Consumer, Outcome, Record
from agentsuite_kit.messaging.errors import HandlerTimeout, TransientError, is_transient
from agentsuite_kit.messaging.group import _due
from agentsuite_kit.messaging.policy import (
    Bury,
    Retry,
    RetryPolicy,
    after_failure,
    crashed_too_often,
    transient_delay,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _db_error(driver_error: BaseException, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    wrapped = sa_exc.DBAPIError("SELECT 1", {}, driver_error, connection_invalidated=invalidated)
    wrapped.__cause__ = driver_error
    return wrapped


@pytest.mark.parametrize(
    "error",
    [
        _db_error(asyncpg.exceptions.SerializationError("could not serialize")),
        _db_error(asyncpg.exceptions.DeadlockDetectedError("deadlock")),
        _db_error(asyncpg.exceptions.QueryCanceledError("statement timeout")),
        _db_error(asyncpg.exceptions.TooManyConnectionsError("too many")),
        _db_error(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        _db_error(RuntimeError("closed"), invalidated=True),
        sa_exc.TimeoutError("QueuePool limit reached"),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        ConnectionResetError(104, "reset by peer"),
        TimeoutError("read timed out"),
        KafkaConnectionError("broker down"),
        KafkaTimeoutError(),  # a retry tier or DLQ publish timed out: seek back, not die
        TransientError("provider said 503"),
        RuntimeError("wrapper"),  # made transient by its cause below
    ],
    ids=lambda e: type(e).__name__,
)
def test_infrastructure_faults_are_transient(error: BaseException) -> None:
    if type(error) is RuntimeError:
        error.__cause__ = ConnectionRefusedError(111, "refused")
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        _db_error(asyncpg.exceptions.UniqueViolationError("duplicate key")),
        _db_error(asyncpg.exceptions.CheckViolationError("check")),
        _db_error(asyncpg.exceptions.InsufficientPrivilegeError("RLS says no")),
        ValueError("bad data"),
        KeyError("missing"),
        HandlerTimeout("ran past 30s"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_failures_of_the_message_are_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def test_a_handler_timeout_is_a_failure_even_though_it_wraps_a_timeout() -> None:
    error = HandlerTimeout("slow")
    error.__cause__ = TimeoutError()
    assert not is_transient(error)


def test_failures_walk_the_tiers_then_bury() -> None:
    policy = RetryPolicy(tiers=(10.0, 60.0))
    assert after_failure(0, policy, NOW) == Retry(1, NOW + timedelta(seconds=10))
    assert after_failure(1, policy, NOW) == Retry(2, NOW + timedelta(seconds=60))
    assert after_failure(2, policy, NOW) == Bury(attempts=3)
    assert after_failure(0, RetryPolicy(tiers=()), NOW) == Bury(attempts=1)


def test_transient_delay_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(transient_backoff=(0.1, 1.0))
    assert [transient_delay(n, policy) for n in range(1, 7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_crash_guard_gives_up_after_max_crashes() -> None:
    policy = RetryPolicy(max_crashes=2)
    assert [crashed_too_often(n, policy) for n in (0, 1, 2, 3)] == [False, False, True, True]


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="delays"):
        RetryPolicy(tiers=(-1.0,))
    with pytest.raises(ValueError, match="max_crashes"):
        RetryPolicy(max_crashes=0)


def _record(value: bytes, headers: dict[str, str] | None = None, offset: int = 0) -> Record:
    return Record("t.v1", 0, offset, b"k", value, headers or {})


def test_retry_tier_records_wait_for_their_due_time() -> None:
    later = RetryState(due_at=NOW + timedelta(seconds=5), tier=1, topic="t", partition=0,
                       offset=0, error="x")  # fmt: skip
    earlier = later.model_copy(update={"due_at": NOW - timedelta(seconds=1)})
    records = [
        _record(b"a", earlier.headers(), 0),
        _record(b"b", {}, 1),
        _record(b"c", later.headers(), 2),
        _record(b"d", earlier.headers(), 3),
    ]
    due, waiting = _due(records, NOW)
    assert [r.offset for r in due] == [0, 1]
    assert waiting is not None
    assert waiting[0].offset == 2
    assert waiting[1] == later.due_at


class Mood(StrEnum):
    CALM = "calm"


class Noted(Event):
    type: Literal["unit.noted"] = Field(default="unit.noted", description="Message type.")
    note_id: UUID = Field(description="The note.")
    mood: Mood = Field(default=Mood.CALM, description="A closed enum.")


def _envelope(**payload: Any) -> dict[str, Any]:
    env = Envelope[Noted](
        producer="unit",
        tenant_id=uuid4(),
        subject=Subject(type="note", id="1"),
        correlation_id=uuid4(),
        payload=Noted(note_id=uuid4()),
    )
    doc: dict[str, Any] = json.loads(env.model_dump_json())
    doc["payload"].update(payload)
    return doc


def _consumer() -> tuple[Consumer[UnitOfWork], list[tuple[str, dict[str, str]]]]:
    published: list[tuple[str, dict[str, str]]] = []

    async def publish(topic: str, key: bytes | None, value: bytes, h: dict[str, str]) -> None:
        published.append((topic, h))

    async def handler(envelope: Envelope[Any], uow: UnitOfWork) -> None:
        raise AssertionError("decode only")

    def no_uow(*_: Any, **__: Any) -> UnitOfWork:
        raise AssertionError("decode only")

    consumer = Consumer[UnitOfWork](
        group="svc.unit", handlers={Noted: handler}, uow=no_uow, publish=publish
    )
    return consumer, published


def _decode(value: bytes, headers: dict[str, str] | None = None) -> Any:
    consumer, published = _consumer()
    return asyncio.run(consumer.decode(_record(value, headers))), published


def test_known_type_decodes_ignoring_fields_added_later() -> None:
    doc = _envelope(added_later="fine")
    result, published = _decode(json.dumps(doc).encode())
    assert isinstance(result, Envelope)
    assert result.payload.type == "unit.noted"
    assert published == []


def test_a_type_without_a_handler_is_skipped_not_dead_lettered() -> None:
    doc = _envelope()
    doc["type"] = doc["payload"]["type"] = "unit.exploded"
    assert _decode(json.dumps(doc).encode()) == (Outcome.SKIPPED, [])
    # the type header alone decides, without parsing the value
    assert _decode(b"{not json", {"type": "unit.exploded"}) == (Outcome.SKIPPED, [])


def test_an_unknown_enum_value_is_skipped_not_dead_lettered() -> None:
    assert _decode(json.dumps(_envelope(mood="ecstatic")).encode()) == (Outcome.SKIPPED, [])


def test_unparseable_or_invalid_values_are_dead_lettered_to_the_group() -> None:
    result, published = _decode(b"{not json")
    assert result is Outcome.DEAD_LETTERED
    [(topic, headers)] = published
    assert topic == "svc.unit.dlq"
    letter = DeadLetter.from_headers(headers)
    assert letter.reason == "invalid"
    assert letter.consumer == "svc.unit"
    result, published = _decode(json.dumps(_envelope(note_id="not-a-uuid")).encode())
    assert result is Outcome.DEAD_LETTERED
    assert "note_id" in DeadLetter.from_headers(published[0][1]).error
