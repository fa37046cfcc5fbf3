"""The outbox's wire encoding, and the relay's per-key hold-back after a failed send."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from agentsuite_contracts import Envelope, Subject, TraceContext, decode, envelope_adapter, uuid7
from agentsuite_contracts.identity import TenantCreated
from agentsuite_kit.outbox import OutboxRecord, OutboxRelay, encode

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TOPIC = "identity.tenants.v1"


def _envelope(*, tenant: bool = True, trace: bool = True) -> Envelope[TenantCreated]:
    tenant_id = uuid7()
    return Envelope[TenantCreated](
        producer="identity",
        tenant_id=tenant_id if tenant else None,
        subject=Subject(type="tenant", id=str(tenant_id)),
        correlation_id=uuid7(),
        trace=TraceContext(traceparent=TRACEPARENT) if trace else None,
        payload=TenantCreated(tenant_id=tenant_id, slug="acme", name="Acme"),
    )


def test_encode_headers() -> None:
    envelope = _envelope()
    _, headers = encode(envelope)
    assert headers == {
        "content-type": "application/json",
        "type": "identity.tenant.created",
        "event-id": str(envelope.id),
        "schema-version": "1",
        "producer": "identity",
        "correlation-id": str(envelope.correlation_id),
        "tenant-id": str(envelope.tenant_id),
        "traceparent": TRACEPARENT,
    }
    assert all(isinstance(v, str) for v in headers.values())


def test_encode_optional_headers_only_when_set() -> None:
    _, headers = encode(_envelope(tenant=False, trace=False))
    assert "tenant-id" not in headers
    assert "traceparent" not in headers
    _, headers = encode(_envelope(tenant=True, trace=False))
    assert "tenant-id" in headers
    assert "traceparent" not in headers
    _, headers = encode(_envelope(tenant=False, trace=True))
    assert "tenant-id" not in headers
    assert headers["traceparent"] == TRACEPARENT


@pytest.mark.parametrize("trace", [True, False])
def test_encode_value_round_trips(trace: bool) -> None:
    envelope = _envelope(trace=trace)
    value, headers = encode(envelope)

    assert isinstance(value, bytes)
    # strict adapters, per topic and over every topic: the value is a valid envelope as-is
    for adapter in (envelope_adapter(TOPIC), envelope_adapter()):
        parsed = adapter.validate_json(value)
        assert parsed == envelope
        assert isinstance(parsed.payload, TenantCreated)
    decoded = decode(TOPIC, value)
    assert decoded == envelope
    assert str(decoded.id) == headers["event-id"]
    assert decoded.type == headers["type"]


class FakeSender:
    """Acks every send at once, except values listed in `fail`, which fail with their error."""

    def __init__(self, fail: dict[bytes, Exception] | None = None) -> None:
        self.fail = fail or {}
        self.sent: list[tuple[str, bytes, bytes, dict[str, str]]] = []

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        self.sent.append((topic, key, value, headers))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if value in self.fail:
            ack.set_exception(self.fail[value])
        else:
            ack.set_result(None)
        return ack


@pytest.fixture
def engine() -> Iterator[AsyncEngine]:
    # never connected: publish() touches only the sender
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    yield engine
    engine.sync_engine.dispose()


def _batch(*rows: tuple[str, str, bytes]) -> list[OutboxRecord]:
    return [
        OutboxRecord(i, uuid4(), topic, key, value, {"type": "t"})
        for i, (topic, key, value) in enumerate(rows, start=1)
    ]


async def test_publish_all_acked(engine: AsyncEngine) -> None:
    sender = FakeSender()
    batch = _batch(("t", "A", b"a1"), ("t", "B", b"b1"), ("t", "A", b"a2"))

    done, failed = await OutboxRelay(engine, sender).publish(batch)

    assert done == [1, 2, 3]
    assert failed == {}
    # sent in id order, key encoded, value and headers as stored
    assert sender.sent == [(r.topic, r.key.encode(), r.value, r.headers) for r in batch]


async def test_publish_holds_back_the_failed_keys_later_records(engine: AsyncEngine) -> None:
    error = RuntimeError("broker said no")
    sender = FakeSender({b"a2": error})
    batch = _batch(
        ("t", "A", b"a1"),  # 1: acked before the failure: done
        ("t", "B", b"b1"),  # 2
        ("t", "A", b"a2"),  # 3: fails
        ("t", "B", b"b2"),  # 4
        ("t", "A", b"a3"),  # 5: acked, but after A's failure: held
        ("t", "B", b"b3"),  # 6
        ("t", "A", b"a4"),  # 7: held
    )

    done, failed = await OutboxRelay(engine, sender).publish(batch)

    assert done == [1, 2, 4, 6]
    assert failed == {3: repr(error), 5: "held", 7: "held"}
    assert failed[3] == "RuntimeError('broker said no')"
    assert len(sender.sent) == len(batch)  # everything was sent; only marking is held back


async def test_publish_key_is_scoped_to_its_topic(engine: AsyncEngine) -> None:
    sender = FakeSender({b"x1": ConnectionError("gone")})
    batch = _batch(("t1", "A", b"x1"), ("t2", "A", b"y1"), ("t1", "A", b"x2"), ("t2", "A", b"y2"))

    done, failed = await OutboxRelay(engine, sender).publish(batch)

    assert done == [2, 4]
    assert failed == {1: "ConnectionError('gone')", 3: "held"}


async def test_publish_several_failures(engine: AsyncEngine) -> None:
    sender = FakeSender({b"a1": TimeoutError(), b"b2": ValueError("too large")})
    batch = _batch(("t", "A", b"a1"), ("t", "B", b"b1"), ("t", "A", b"a2"), ("t", "B", b"b2"))

    done, failed = await OutboxRelay(engine, sender).publish(batch)

    assert done == [2]
    assert failed == {1: "TimeoutError()", 3: "held", 4: "ValueError('too large')"}


async def test_publish_empty_batch(engine: AsyncEngine) -> None:
    sender = FakeSender()
    assert await OutboxRelay(engine, sender).publish([]) == ([], {})
    assert sender.sent == []
