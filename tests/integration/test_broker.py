"""The kit's producer is idempotent exactly where the broker grants it, and the probe that
finds out says nothing alarming when the answer is no."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from agentsuite_kit.messaging.broker import supports_idempotence
from agentsuite_kit.messaging.producer import ProducerSender, make_producer
from agentsuite_kit.settings import ServiceSettings
from tests.conftest import TestSettings
from tests.integration.kafka_helpers import fresh_topic, read_all


async def test_idempotence_probe_matches_the_broker(
    kafka_bootstrap: str, test_settings: TestSettings
) -> None:
    # Tansu lists InitProducerId but fails it; Apache Kafka grants producer ids
    assert await supports_idempotence(kafka_bootstrap) is (test_settings.kafka_flavor == "apache")


async def test_idempotence_probe_logs_no_error(
    kafka_bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    # a broker refusing producer ids is an answer, not a fault: no ERROR in the logs
    caplog.set_level(logging.DEBUG)
    await supports_idempotence(kafka_bootstrap)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_producer_from_settings_publishes_with_auto_idempotence(
    kafka_bootstrap: str, test_settings: TestSettings
) -> None:
    settings = ServiceSettings(
        database_url=SecretStr("postgresql+asyncpg://unused/db"),
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_idempotence="auto",
    )
    producer = await make_producer(settings)
    try:
        idempotent = test_settings.kafka_flavor == "apache"
        # aiokafka keeps a transaction manager exactly when it is idempotent (no public getter)
        assert (producer._txn_manager is not None) is idempotent
        topic = await fresh_topic(kafka_bootstrap)
        ack = await ProducerSender(producer).send(topic, b"k", b"hello", {"type": "t"})
        await ack
    finally:
        await producer.stop()
    [record] = await read_all(kafka_bootstrap, topic, expect=1)
    assert (record.key, record.value, dict(record.headers)["type"]) == (b"k", b"hello", b"t")
