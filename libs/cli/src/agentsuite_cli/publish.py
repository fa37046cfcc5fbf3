"""`agentsuite publish`: put one event on its topic as its owning service would.

For trying a service whose upstream service is not running (or not written yet): e.g.
approve a plan in execution's projection by publishing the `planning.plan.approved`
planning would send. The payload is validated against its contract first.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import typer
from aiokafka import AIOKafkaProducer

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.registry import partition_key, payload_class, subject_of, topic_for_type
from agentsuite_kit.db.outbox import encode


def envelope_of(
    payload: dict[str, Any], tenant: UUID | None, producer: str | None
) -> Envelope[Any]:
    """The payload (its `type` names its contract) in an envelope of `producer` (default:
    the owner of its topic)."""
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise ValueError("the payload needs its `type`, e.g. `planning.plan.approved`")
    model = payload_class(kind).model_validate(payload)
    return Envelope[Any](
        producer=producer or topic_for_type(kind).owner,
        tenant_id=tenant,
        subject=subject_of(model),
        correlation_id=uuid7(),
        payload=model,
    )


async def send(bootstrap: str, envelope: Envelope[Any]) -> str:
    topic = topic_for_type(envelope.type).name
    value, headers = encode(envelope)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            value,
            key=partition_key(envelope, topic).encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
    finally:
        await producer.stop()
    return topic


def publish(
    bootstrap: str,
    file: Path,
    tenant: UUID | None,
    producer: str | None,
) -> str:
    """Validate `file`'s payload and publish it; the topic it went to."""
    try:
        payload = json.loads(file.read_text())
        envelope = envelope_of(payload, tenant, producer)
    except (OSError, ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    return asyncio.run(send(bootstrap, envelope))
