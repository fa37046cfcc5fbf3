"""What the broker offers: the idempotence probe the producer settings follow."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from aiokafka import AIOKafkaProducer

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
