"""Topic administration: create and describe topics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@asynccontextmanager
async def admin_client(bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client, closed on exit."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def ensure_topics(
    bootstrap: str, topics: Iterable[tuple[str, int]], *, replication: int = 1
) -> list[str]:
    """Create each (name, partitions) topic unless present; return the ones created."""
    async with admin_client(bootstrap) as admin:
        existing = set(await admin.list_topics())
        wanted: list[NewTopic] = []
        for name, partitions in topics:
            if name not in existing:
                wanted.append(NewTopic(name, partitions, replication))
                existing.add(name)
        created: list[str] = []
        for new in wanted:
            try:
                await admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topic exists either way
        return created


async def list_topics(bootstrap: str) -> dict[str, int]:
    """Topic name -> partition count (internal topics left out)."""
    async with admin_client(bootstrap) as admin:
        names = [n for n in await admin.list_topics() if not n.startswith("__")]
        described = await admin.describe_topics(names)
        return {d["topic"]: len(d["partitions"]) for d in described}


async def partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of `topic`, ascending."""
    async with admin_client(bootstrap) as admin:
        [described] = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
