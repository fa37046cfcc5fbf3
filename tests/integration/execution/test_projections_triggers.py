"""planning's trigger deliveries (`planning.trigger.fired`) through the real broker and
PostgreSQL: each delivery, repeated 1-5 times (as is, or re-sent in a new envelope) and
shuffled, starts exactly one run, `event` for a webhook and `api` for an API call, whose
`execution.started` names the trigger and the delivery. A delivery of a plan not approved
here yet goes to a retry tier; one that can never run (plan archived or stale, inputs
refused, an id past the bound) is dropped."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.deadletter import retry_topic
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.planning import PlanArchived, TriggerFired, TriggerKind
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1, PLANNING_TRIGGERS_V1
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import envelope, plan_approved, publish, send
from tests.integration.execution.test_projections_redelivery import deliveries, shuffler
from tests.integration.execution.test_projections_stale import applied, stale
from tests.integration.kafka_helpers import eventually, read_all

pytestmark = pytest.mark.integration

PLANS, TRIGGERS = PLANNING_PLANS_V1, PLANNING_TRIGGERS_V1
GROUP = "execution.triggers"
SEEDS = [7, 2026]


async def approved_plan(ex: Execution, tenant: UUID, **kw: Any) -> UUID:
    """A plan approved and projected; its id."""
    plan = plan_approved(**kw)
    sent = await publish(ex.kafka, PLANS, plan, tenant_id=tenant)
    await eventually(lambda: applied(ex, "execution.plans", [sent]), within=30)
    return plan.plan_id


def fired(
    plan_id: UUID,
    trigger_id: UUID | None = None,
    delivery_id: str | None = None,
    kind: TriggerKind = TriggerKind.WEBHOOK,
    **inputs: Any,
) -> TriggerFired:
    return TriggerFired(
        trigger_id=trigger_id or uuid4(),
        delivery_id=delivery_id or f"msg_{uuid4().hex}",
        kind=kind,
        plan_id=plan_id,
        plan_version=1,
        inputs=inputs,
    )


async def runs_of(ex: Execution, trigger_id: UUID) -> list[Any]:
    return await ex.owner_sql(
        "SELECT execution_id, delivery_id, trigger, inputs FROM executions "
        "WHERE trigger_id = :t ORDER BY delivery_id",
        t=trigger_id,
    )


async def retried(ex: Execution, event: Envelope[Any]) -> bool:
    records = await read_all(ex.kafka, retry_topic(GROUP, 1), 10_000, 2)
    return any(str(event.id).encode() in r.value for r in records)


@pytest.mark.parametrize("seed", SEEDS)
async def test_each_delivery_starts_exactly_one_run(execution: Execution, seed: int) -> None:
    rng = shuffler(seed)
    events: list[Envelope[Any]] = []
    want: dict[tuple[UUID, str], str] = {}
    tenants = [uuid4(), uuid4()]
    for tenant in tenants:
        plan_id = await approved_plan(execution, tenant)
        for kind in TriggerKind:
            trigger = uuid4()
            for n in range(3):
                # the same delivery id under two triggers is two deliveries
                delivery = f"msg_{seed}_{n}"
                payload = fired(plan_id, trigger, delivery, kind, n=n)
                events.append(envelope(payload, tenant_id=tenant))
                want[(trigger, delivery)] = "event" if kind == TriggerKind.WEBHOOK else "api"
    sent = deliveries(rng, events)
    await send(execution.kafka, TRIGGERS, sent)
    await eventually(lambda: applied(execution, GROUP, sent), within=60)

    rows = await execution.owner_sql(
        "SELECT trigger_id, delivery_id, trigger, count(*) FROM executions "
        "WHERE tenant_id = ANY(:t) AND trigger_id IS NOT NULL "
        "GROUP BY trigger_id, delivery_id, trigger",
        t=tenants,
    )
    got = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    print(f"triggers: {len(events)} deliveries sent {len(sent)} times -> {len(got)} runs")
    assert got == {k: (trigger, 1) for k, trigger in want.items()}
    started = await execution.owner_sql(
        "SELECT e.trigger_id, e.delivery_id, l.data FROM log l "
        "JOIN executions e ON e.execution_id = l.execution_id "
        "WHERE l.type = 'execution.execution.started' AND e.tenant_id = ANY(:t) "
        "AND e.trigger_id IS NOT NULL",
        t=tenants,
    )
    assert len(started) == len(want)
    for trigger_id, delivery_id, data in started:
        data = data if isinstance(data, dict) else json.loads(data)
        assert (data["trigger_id"], data["delivery_id"]) == (str(trigger_id), delivery_id)


async def test_a_delivery_of_a_plan_not_approved_here_goes_to_a_retry_tier(
    execution: Execution,
) -> None:
    tenant = uuid4()
    sent = await publish(execution.kafka, TRIGGERS, fired(uuid4()), tenant_id=tenant)
    await eventually(lambda: retried(execution, sent), within=30)
    assert not await applied(execution, GROUP, [sent])


@pytest.mark.parametrize("why", ["archived", "stale", "inputs", "long_id"])
async def test_a_delivery_that_can_never_run_is_dropped_not_retried(
    execution: Execution, why: str
) -> None:
    tenant = uuid4()
    schema = {"type": "object", "required": ["order"]}
    plan_id = await approved_plan(execution, tenant, inputs_schema=schema)
    if why in ("archived", "stale"):
        change = PlanArchived(plan_id=plan_id) if why == "archived" else stale(plan_id)
        done = await publish(execution.kafka, PLANS, change, tenant_id=tenant)
        await eventually(lambda: applied(execution, "execution.plans", [done]), within=30)
    payload = fired(plan_id, delivery_id="x" * 256 if why == "long_id" else None)
    if why != "inputs":
        payload = payload.model_copy(update={"inputs": {"order": 7}})
    sent = await publish(execution.kafka, TRIGGERS, payload, tenant_id=tenant)
    await eventually(lambda: applied(execution, GROUP, [sent]), within=30)
    assert not await retried(execution, sent)
    assert await runs_of(execution, payload.trigger_id) == []


async def test_a_delivery_runs_with_its_inputs(execution: Execution) -> None:
    tenant = uuid4()
    plan_id = await approved_plan(execution, tenant)
    payload = fired(plan_id, kind=TriggerKind.API, order=7)
    sent = await publish(execution.kafka, TRIGGERS, payload, tenant_id=tenant)
    await eventually(lambda: applied(execution, GROUP, [sent]), within=30)
    [(run_id, delivery, trigger, inputs)] = await runs_of(execution, payload.trigger_id)
    assert (delivery, trigger, inputs) == (payload.delivery_id, "api", {"order": 7})
    reply = await execution.client.get(f"/v1/executions/{run_id}", headers=auth(tenant))
    shown = reply.json()
    assert (shown["trigger"], shown["trigger_id"], shown["delivery_id"]) == (
        "api",
        str(payload.trigger_id),
        payload.delivery_id,
    ), shown
