"""The broker factory uses an idempotent producer exactly where the broker grants one."""

from __future__ import annotations

from pydantic import SecretStr

from agentsuite_kit.messaging.broker import make_broker, supports_idempotence
from agentsuite_kit.settings import ServiceSettings
from tests.conftest import TestSettings
from tests.integration.kafka_helpers import fresh_topic, read_all


async def test_idempotence_probe_matches_the_broker(
    kafka_bootstrap: str, test_settings: TestSettings
) -> None:
    # Tansu lists InitProducerId but fails it; Apache Kafka grants producer ids
    assert await supports_idempotence(kafka_bootstrap) is (test_settings.kafka_flavor == "apache")


async def test_broker_from_settings_publishes_with_auto_idempotence(kafka_bootstrap: str) -> None:
    settings = ServiceSettings(
        database_url=SecretStr("postgresql+asyncpg://unused/db"),
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_idempotence="auto",
    )
    broker = await make_broker(settings)
    await broker.start()
    try:
        topic = await fresh_topic(kafka_bootstrap)
        await broker.publish(b"hello", topic, key=b"k", headers={"type": "t"})
    finally:
        await broker.stop()
    [record] = await read_all(kafka_bootstrap, topic, expect=1)
    assert (record.key, record.value, dict(record.headers)["type"]) == (b"k", b"hello", b"t")
