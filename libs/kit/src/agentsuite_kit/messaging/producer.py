"""The service's Kafka producer: what the relay sends with and what consumers publish
retries and dead letters with. Plain aiokafka: one acks=all producer per process."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiokafka import AIOKafkaProducer

from agentsuite_kit.messaging.broker import supports_idempotence
from agentsuite_kit.settings import ServiceSettings


async def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    """A started producer: acks=all, idempotent where the broker grants it (probed)."""
    match settings.kafka_idempotence:
        case "on":
            idempotent = True
        case "off":
            idempotent = False
        case _:
            idempotent = await supports_idempotence(settings.kafka_bootstrap_servers)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or type(settings).service,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    return producer


def _headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


class ProducerSender:
    """The relay's `Sender`: hands a record to the producer, returns its ack future."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        ack: Awaitable[Any] = await self.producer.send(
            topic, value, key=key, headers=_headers(headers)
        )
        return ack


def publisher(producer: AIOKafkaProducer) -> Any:
    """A consumer's `Publish`: send and wait for the ack, so committing after it is safe."""

    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await producer.send_and_wait(topic, value, key=key, headers=_headers(headers))

    return publish
