"""Webhook deliveries from real Standard Webhooks senders, each repeated 1-5 times, across
two planning instances on one database and a restart between: exactly one
`planning.trigger.fired` per delivery id reaches the real broker."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.registry import decode
from agentsuite_contracts.topic_names import PLANNING_TRIGGERS_V1
from tests.integration.kafka_helpers import eventually, partitions_of
from tests.integration.planning.harness import Service, auth, create_db, make_settings, running
from tests.integration.planning.triggers_support import (
    SEALING,
    Plans,
    body_of,
    library_headers,
    spec_headers,
)

SENDERS = [library_headers, spec_headers]


@pytest.fixture(scope="module")
async def trigger_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_db(pg_admin_url, tmp_path_factory.mktemp("planning-trig") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


async def fired_on_broker(service: Service, trigger: str) -> dict[str, set[UUID]]:
    """delivery id -> the event ids of its `trigger.fired` on the broker, read to the end
    offsets once every `trigger.fired` outbox row is published."""

    async def drained() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM outbox WHERE type = 'planning.trigger.fired' "
            "AND published_at IS NULL"
        )
        return bool(rows[0][0] == 0)

    await eventually(drained, within=60)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=service.kafka, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    seen: dict[str, set[UUID]] = defaultdict(set)
    try:
        parts = await partitions_of(service.kafka, PLANNING_TRIGGERS_V1)
        assert parts, "the trigger topic has no partitions"
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        deadline = asyncio.get_running_loop().time() + 60
        while [p for p in parts if await consumer.position(p) < ends[p]]:
            assert asyncio.get_running_loop().time() < deadline, "the topic was not read to its end"
            batch = await consumer.getmany(*parts, timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    assert record.value is not None
                    envelope = decode(PLANNING_TRIGGERS_V1, record.value)
                    payload = envelope.payload
                    if (
                        payload.type == "planning.trigger.fired"
                        and str(payload.trigger_id) == trigger
                    ):
                        seen[payload.delivery_id].add(envelope.id)
    finally:
        await consumer.stop()
    return seen


@pytest.mark.parametrize("seed", [18, 2026])
async def test_each_delivery_fires_once_across_two_instances_and_a_restart(
    trigger_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible repeat counts, not secrets
    plans = Plans()
    tenant, plan = uuid4(), uuid4()
    plans.put(tenant, plan, approved={1, 2})
    settings = make_settings(trigger_db.url(pg_admin_url), kafka_bootstrap, **SEALING)
    deliveries = [(f"msg_{uuid4().hex}", {"n": i, "who": "sender"}) for i in range(10)]
    repeats = {d: rng.randint(1, 5) for d, _ in deliveries}
    statuses: dict[str, list[int]] = defaultdict(list)

    async def deliver(
        apps: list[Service], msg_id: str, inputs: dict[str, Any], url: str, secret: str
    ) -> None:
        body = body_of(inputs)
        sends = []
        for n in range(repeats[msg_id]):
            sender = SENDERS[n % 2]
            app = apps[rng.randrange(len(apps))]
            sends.append(app.client.post(url, content=body, headers=sender(secret, msg_id, body)))
        # the repeats race each other on both instances at once
        for r in await asyncio.gather(*sends):
            assert r.status_code in (200, 202), r.text
            statuses[msg_id].append(r.status_code)

    async with running(settings, trigger_db, pg_admin_url) as a:
        a.deps.plan_targets = plans
        made = await a.client.post(
            "/v1/triggers",
            json={"plan_id": str(plan), "plan_version": 2, "kind": "webhook"},
            headers=auth(tenant),
        )
        assert made.status_code == 201, made.text
        trigger, secret, url = made.json()["id"], made.json()["secret"], made.json()["url"]
        assert secret.startswith("whsec_")
        async with running(settings, trigger_db, pg_admin_url) as b:
            b.deps.plan_targets = plans
            for msg_id, inputs in deliveries[:5]:
                await deliver([a, b], msg_id, inputs, url, secret)
        # b is gone; a new instance takes its place (a restart), and the first half of the
        # deliveries arrive again besides the second half
        async with running(settings, trigger_db, pg_admin_url) as b2:
            b2.deps.plan_targets = plans
            for msg_id, inputs in deliveries:
                await deliver([a, b2], msg_id, inputs, url, secret)
            seen = await fired_on_broker(b2, trigger)

    for msg_id, _ in deliveries:
        assert statuses[msg_id].count(202) == 1, (msg_id, statuses[msg_id])
        assert len(seen[msg_id]) == 1, (msg_id, seen[msg_id])
    assert set(seen) == {m for m, _ in deliveries}
