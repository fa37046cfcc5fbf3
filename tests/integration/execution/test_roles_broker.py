"""identity's role events through the real broker into execution's projection, by the
subscription `role_consumers` declares (run here in a group of the test's own, so it
neither waits for nor competes with the app's wiring): every event delivered 1-5 times,
as is or in a new envelope, shuffled; the end state is each applied once, in order."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.identity import (
    RoleAssigned,
    RoleCreated,
    RoleDeleted,
    RoleRevoked,
    RoleUpdated,
)
from agentsuite_execution.handlers.roles import role_consumers
from agentsuite_execution.repositories.roles import Roles
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.messaging.consumer import Consumer, Outcome
from agentsuite_kit.messaging.group import ConsumerGroup
from agentsuite_kit.messaging.producer import publisher
from agentsuite_kit.runtime import retry_policy
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, send
from tests.integration.kafka_helpers import eventually

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def roles_consumer(execution: Execution) -> AsyncIterator[Consumer[ExecutionUow]]:
    [spec] = role_consumers(execution.deps)
    runtime = execution.deps.runtime
    consumer = Consumer[ExecutionUow](
        group=f"execution.roles-test-{uuid4().hex[:8]}",
        handlers=spec.handlers,
        uow=runtime.uow,
        publish=publisher(runtime.producer),
        policy=retry_policy(execution.settings),
        batch=spec.batch,
    )
    group = ConsumerGroup[ExecutionUow](
        consumer,
        spec.topic,
        execution.kafka,
        progress=lambda: runtime.uow(None),
        fetch=spec.fetch,
    )
    await group.start()
    try:
        yield consumer
    finally:
        await group.stop()


def timeline(tenant: UUID, payloads: Sequence[Payload]) -> list[Envelope[Any]]:
    """One role's events, a second apart, in the order identity made them."""
    return [
        envelope(p, tenant_id=tenant, producer="identity", occurred_at=T0 + timedelta(seconds=i))
        for i, p in enumerate(payloads)
    ]


def deliveries(rng: random.Random, events: Sequence[Envelope[Any]]) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    for event in events:
        out.append(event)
        for _ in range(rng.randint(0, 4)):
            again = event if rng.random() < 0.5 else event.model_copy(update={"id": uuid4()})
            out.append(again)
    rng.shuffle(out)
    return out


async def deliver(
    execution: Execution,
    consumer: Consumer[ExecutionUow],
    rng: random.Random,
    events: Sequence[Envelope[Any]],
) -> None:
    """Send the shuffled deliveries; return once the consumer handled every one."""
    before = dict(consumer.counts)
    sent = deliveries(rng, events)
    [spec] = role_consumers(execution.deps)
    await send(execution.kafka, spec.topic, sent)

    async def all_handled() -> bool:
        return sum(consumer.counts.values()) - sum(before.values()) >= len(sent)

    await eventually(all_handled, within=60)
    failed = {o: consumer.counts[o] - before[o] for o in (Outcome.RETRYING, Outcome.DEAD_LETTERED)}
    assert failed == {Outcome.RETRYING: 0, Outcome.DEAD_LETTERED: 0}


def role(role_id: UUID, name: str) -> RoleCreated:
    return RoleCreated(role_id=role_id, name=name, capabilities=["approvals:decide"])


@pytest.mark.parametrize("seed", [7, 2026])
async def test_roles_end_as_applied_once_in_order(
    execution: Execution, roles_consumer: Consumer[ExecutionUow], seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant = uuid4()
    a, b, c = uuid4(), uuid4(), uuid4()
    users = [uuid4() for _ in range(6)]
    g1, g2, g3 = uuid4(), uuid4(), uuid4()
    events = [
        *timeline(
            tenant,
            [
                role(a, "approver"),
                # re-granted under a new id after a revoke
                RoleAssigned(role_id=a, user_id=users[0], assignment_id=g1),
                RoleRevoked(role_id=a, user_id=users[0], assignment_id=g1),
                RoleAssigned(role_id=a, user_id=users[0], assignment_id=g2),
                # granted, then withdrawn
                RoleAssigned(role_id=a, user_id=users[1], assignment_id=g3),
                RoleRevoked(role_id=a, user_id=users[1], assignment_id=g3),
                # without ids: the newest of assign, revoke, assign stands
                RoleAssigned(role_id=a, user_id=users[4]),
                RoleRevoked(role_id=a, user_id=users[4]),
                RoleAssigned(role_id=a, user_id=users[4]),
                RoleAssigned(role_id=a, user_id=users[5]),
                RoleRevoked(role_id=a, user_id=users[5]),
            ],
        ),
        *timeline(
            tenant,
            [
                role(b, "reviewer"),
                RoleAssigned(role_id=b, user_id=users[2]),
                RoleUpdated(role_id=b, name="signer", capabilities=[]),
            ],
        ),
        *timeline(
            tenant,
            [
                role(c, "auditor"),
                RoleAssigned(role_id=c, user_id=users[3]),
                RoleDeleted(role_id=c, name="auditor"),
            ],
        ),
    ]
    await deliver(execution, roles_consumer, rng, events)

    async with execution.deps.uow(tenant) as uow:
        roles = Roles(uow.session)
        held = [await roles.names_of(user) for user in users]
    assert held == [{"approver"}, set(), {"signer"}, set(), {"approver"}, set()]
