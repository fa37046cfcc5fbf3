"""A partition revoked between a fetch and the lag report: the group's worker must not die
on it. aiokafka's `highwater` asserts the partition is assigned; lane 2 (Apache Kafka) once
failed `test_serve` at teardown with `AssertionError: Partition is not assigned` from
`ConsumerGroup._lag`."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from agentsuite_kit.messaging.group import ConsumerGroup


class Revoked:
    """Answers as aiokafka does for a partition no longer assigned."""

    def assignment(self) -> set[TopicPartition]:
        return set()

    def highwater(self, tp: TopicPartition) -> int:
        raise AssertionError("Partition is not assigned")

    async def position(self, tp: TopicPartition) -> int:
        raise AssertionError("Partition is not assigned")


class Metrics:
    def __init__(self) -> None:
        self.lag = self

    def labels(self, *args: Any) -> Any:
        raise AssertionError("no lag for a revoked partition")


class Consumer:
    group = "g"
    metrics = Metrics()


async def test_a_revoked_partitions_lag_is_skipped() -> None:
    group = ConsumerGroup.__new__(ConsumerGroup)
    group.consumer = Consumer()  # type: ignore[assignment]  # only what _lag reads
    await group._lag(Revoked(), TopicPartition("t", 0))
