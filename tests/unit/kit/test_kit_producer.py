"""The relay's sender refuses rows of a topic the broker does not know, fast, instead of
holding the whole relay round for the client's metadata timeout."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError

from agentsuite_kit.messaging.producer import ProducerSender


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
