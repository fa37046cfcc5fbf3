"""Task groups on the broker: every creation, rename or re-parenting of a group goes out
whole, so a projection keeps the hierarchy without calling catalog."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.catalog import TaskGroupChanged
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.topic_names import CATALOG_TASK_GROUPS_V1
from agentsuite_kit.messaging.consumer import handled_adapter
from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_tasks import group
from tests.integration.kafka_helpers import eventually


async def group_events(service: Service, group_id: str, count: int) -> list[Envelope[Any]]:
    adapter = handled_adapter([TaskGroupChanged])
    found: list[Envelope[Any]] = []
    consumer = AIOKafkaConsumer(
        CATALOG_TASK_GROUPS_V1,
        bootstrap_servers=service.kafka,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:

        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(
                    adapter.validate_json(r.value) for r in records if r.key == group_id.encode()
                )
            return len(found) >= count

        await eventually(arrived, within=60)
    finally:
        await consumer.stop()
    return found


async def test_every_group_change_goes_out_whole(service: Service) -> None:
    tenant = uuid4()
    await group(service, tenant, "top")
    await group(service, tenant, "other")
    made = await group(service, tenant, "mid", "top", "other")
    url = f"/v1/task-groups/{made['id']}"
    body = {"name": "Middle", "parents": ["top"], "metadata": {"owner": "ops"}}  # leaves other
    renamed = await service.client.put(url, json=body, headers=auth(tenant) | {"If-Match": '"1"'})
    assert renamed.status_code == 200, renamed.text
    moved = await service.client.put(
        url, json={"name": "Middle"}, headers=auth(tenant) | {"If-Match": '"2"'}
    )
    assert moved.status_code == 200, moved.text

    events = [e.payload for e in await group_events(service, made["id"], 3)]
    assert all(isinstance(p, TaskGroupChanged) for p in events)
    assert [(p.revision, p.key, p.name, p.parents, p.metadata) for p in events] == [
        (1, "mid", "MID", ["other", "top"], {}),  # sorted, as a read lists them
        (2, "mid", "Middle", ["top"], {"owner": "ops"}),
        (3, "mid", "Middle", [], {}),
    ]
