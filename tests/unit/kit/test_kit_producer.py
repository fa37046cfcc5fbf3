"""The relay's sender refuses rows of a topic the broker does not know, fast, instead of
holding the whole relay round for the client's metadata timeout; a topic no broker can
have, for good; a service will not start with events it could not send."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidTopicError, KafkaTimeoutError
from pydantic import SecretStr, ValidationError

from agentsuite_kit.messaging.errors import is_transient
from agentsuite_kit.messaging.producer import ProducerSender
from agentsuite_kit.settings import PRODUCER_MAX_REQUEST_BYTES, ServiceSettings


class _Cluster:
    def __init__(self, known: set[str]) -> None:
        self.known = known

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self.known else None


class _Producer:
    """Stands in for AIOKafkaProducer: metadata for unknown topics never arrives."""

    def __init__(self, known: set[str]) -> None:
        self.client = type("Client", (), {"cluster": _Cluster(known)})()
        self.sent: list[str] = []
        self.asked = 0

    async def partitions_for(self, topic: str) -> set[int]:
        self.asked += 1
        await asyncio.Event().wait()  # the broker never answers with this topic
        raise AssertionError("unreachable")

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[None]:
        self.sent.append(topic)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _send(sender: ProducerSender, topic: str) -> None:
    await sender.send(topic, b"k", b"v", {})


def test_unknown_topic_is_refused_quickly_then_at_once_while_known_topics_flow() -> None:
    async def scenario() -> None:
        fake = _Producer({"known.v1"})
        sender = ProducerSender(cast(AIOKafkaProducer, fake), metadata_wait=0.2, missing_for=60.0)
        # the fake never answers: without the bounded wait this would hang (test timeout)
        with pytest.raises(KafkaTimeoutError, match=r"missing\.v1"):
            await _send(sender, "missing.v1")
        with pytest.raises(KafkaTimeoutError):
            await _send(sender, "missing.v1")  # remembered: no second wait
        assert fake.asked == 1
        await _send(sender, "known.v1")
        assert fake.sent == ["known.v1"]

    asyncio.run(scenario())


def test_a_missing_topic_is_asked_about_again_after_a_while() -> None:
    async def scenario() -> None:
        fake = _Producer(set())
        sender = ProducerSender(cast(AIOKafkaProducer, fake), metadata_wait=0.05, missing_for=0.0)
        for _ in range(2):
            with pytest.raises(KafkaTimeoutError):
                await _send(sender, "missing.v1")
        assert fake.asked == 2

    asyncio.run(scenario())


def test_an_illegal_topic_name_is_refused_for_good_without_asking_the_broker() -> None:
    async def scenario() -> None:
        fake = _Producer(set())
        sender = ProducerSender(cast(AIOKafkaProducer, fake), metadata_wait=0.05)
        for name in ("not a topic!", "", ".", "x" * 250):
            with pytest.raises(InvalidTopicError):
                await _send(sender, name)
        assert fake.asked == 0
        assert not is_transient(InvalidTopicError())

    asyncio.run(scenario())


def test_a_message_limit_past_what_the_producer_sends_is_refused_at_start() -> None:
    url = SecretStr("postgresql+asyncpg://app@127.0.0.1/db")
    assert ServiceSettings(database_url=url).max_message_bytes == 1_000_000
    with pytest.raises(ValidationError, match=r"max_message_bytes.*producer"):
        ServiceSettings(database_url=url, max_message_bytes=2_000_000)
    # a record carries the key, the headers and the batch's overhead beside the event
    with pytest.raises(ValidationError, match="max_message_bytes"):
        ServiceSettings(database_url=url, max_message_bytes=PRODUCER_MAX_REQUEST_BYTES)
