"""The faststream broker of a service, and the relay's sender on top of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Iterator
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from agentsuite_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

# aiokafka's sender logs a refused InitProducerId as an ERROR; for the probe a refusal is
# an answer, not a fault, so only that record, only while probing, is dropped.
_SENDER_LOG = "aiokafka.producer.sender"
_INIT_PID_FAILED = "Unexpected error during InitProducerIdRequest"


def _not_init_pid_failure(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_INIT_PID_FAILED)


@contextlib.contextmanager
def _quiet_init_pid() -> Iterator[None]:
    logger = logging.getLogger(_SENDER_LOG)
    logger.addFilter(_not_init_pid_failure)
    try:
        yield
    finally:
        logger.removeFilter(_not_init_pid_failure)


async def supports_idempotence(bootstrap: str, within: float = 10.0) -> bool:
    """Whether the broker grants producer ids: start an idempotent producer and see.

    Brokers such as Tansu list InitProducerId but fail it, so the API version table
    cannot be trusted; starting a producer sends nothing to any topic.
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    with _quiet_init_pid():
        try:
            await asyncio.wait_for(producer.start(), within)
        except Exception as exc:  # any failure means "not usable here"
            log.info("broker at %s refuses idempotent producers: %r", bootstrap, exc)
            return False
        finally:
            await producer.stop()
    return True


async def make_broker(settings: ServiceSettings, **kwargs: Any) -> KafkaBroker:
    """A faststream KafkaBroker configured from settings (not yet started)."""
    match settings.kafka_idempotence:
        case "on":
            idempotent = True
        case "off":
            idempotent = False
        case _:
            idempotent = await supports_idempotence(settings.kafka_bootstrap_servers)
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id or type(settings).service,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=5,
        # faststream logs every message at this level; per-message INFO costs throughput
        log_level=logging.DEBUG,
        max_batch_size=256 * 1024,
        **kwargs,
    )


class BrokerSender:
    """Adapts a started KafkaBroker to the relay's `Sender`: no wait per record."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[Any]:
        return await self.broker.publish(value, topic, key=key, headers=headers, no_confirm=True)
