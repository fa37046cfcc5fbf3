"""The service's Kafka producer: what the relay sends with and what consumers publish
retries and dead letters with. Plain aiokafka: one acks=all producer per process."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidTopicError, KafkaTimeoutError

from agentsuite_kit.messaging.broker import supports_idempotence
from agentsuite_kit.settings import PRODUCER_MAX_REQUEST_BYTES, ServiceSettings

# what Kafka accepts as a topic name (org.apache.kafka.common.internals.Topic)
LEGAL_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")


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
        max_request_size=PRODUCER_MAX_REQUEST_BYTES,  # what settings hold max_message_bytes to
    )
    await producer.start()
    return producer


def _headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


class ProducerSender:
    """The relay's `Sender`: hands a record to the producer, returns its ack future.

    A topic the broker does not know (a broker that does not create topics on produce,
    a typo in a private topic) would hold `send()` for the client's whole metadata timeout,
    and every row behind it in the relay's round with it. So a topic missing from the
    cached metadata is waited on for `metadata_wait` seconds at most, then refused at once
    for `missing_for` seconds: its rows fail fast (retried with backoff, then parked) and
    the rest of the outbox flows.
    """

    def __init__(
        self, producer: AIOKafkaProducer, *, metadata_wait: float = 2.0, missing_for: float = 10.0
    ) -> None:
        self.producer = producer
        self.metadata_wait = metadata_wait
        self.missing_for = missing_for
        self._missing: dict[str, float] = {}  # topic -> until when it is refused

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        if self.producer.client.cluster.partitions_for_topic(topic) is None:
            if not LEGAL_TOPIC.fullmatch(topic) or topic in (".", ".."):
                # no broker ever creates it: a permanent refusal, not a topic yet to come
                raise InvalidTopicError(f"{topic!r} is not a legal Kafka topic name")
            await self._known(topic)
        ack: Awaitable[Any] = await self.producer.send(
            topic, value, key=key, headers=_headers(headers)
        )
        return ack

    async def _known(self, topic: str) -> None:
        now = time.monotonic()
        if self._missing.get(topic, 0.0) > now:
            raise KafkaTimeoutError(f"topic {topic} is not known to the broker")
        try:
            await asyncio.wait_for(self.producer.partitions_for(topic), self.metadata_wait)
        except TimeoutError:
            self._missing[topic] = now + self.missing_for
            raise KafkaTimeoutError(f"topic {topic} is not known to the broker") from None
        self._missing.pop(topic, None)


def publisher(producer: AIOKafkaProducer) -> Any:
    """A consumer's `Publish`: send and wait for the ack, so committing after it is safe."""

    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await producer.send_and_wait(topic, value, key=key, headers=_headers(headers))

    return publish
