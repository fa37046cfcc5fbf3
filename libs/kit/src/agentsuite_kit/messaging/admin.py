"""Topic administration: every registry topic and its dead-letter twin."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


async def ensure_topics(
    bootstrap: str, topics: Iterable[tuple[str, int]], *, replication: int = 1
) -> list[str]:
    """Create each (name, partitions) topic and its `.dlq` unless present; return the new."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted: list[NewTopic] = []
        for name, partitions in topics:
            for topic in (name, dlq(name)):
                if topic not in existing:
                    wanted.append(NewTopic(topic, partitions, replication))
                    existing.add(topic)
        created: list[str] = []
        for new in wanted:
            try:
                await admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topic exists either way
        return created
    finally:
        await admin.close()


async def list_topics(bootstrap: str) -> dict[str, int]:
    """Topic name -> partition count (internal topics left out)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [n for n in await admin.list_topics() if not n.startswith("__")]
        described = await admin.describe_topics(names)
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()
