"""The outbox's wire encoding: the envelope as JSON, routing metadata in headers."""

from __future__ import annotations

import pytest

from agentsuite_contracts import Envelope, Subject, TraceContext, decode, envelope_adapter, uuid7
from agentsuite_contracts.identity import TenantCreated
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.db.outbox import encode

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TOPIC = IDENTITY_TENANTS_V1


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


def test_encode_sequence_header_only_when_sequenced() -> None:
    envelope = _envelope()
    assert "sequence" not in encode(envelope)[1]
    assert encode(envelope.model_copy(update={"sequence": 7}))[1]["sequence"] == "7"
