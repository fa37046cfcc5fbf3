"""The consumers that start and settle work, each event delivered 1-5 times (the same
envelope again, or the fact re-sent in a new envelope) and shuffled across keys: schedule
firings start exactly one run per slot, an LLM answer settles its step once (its usage
counted once on the step, the call and the run)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import ChatMessage, LlmResponse, Role
from agentsuite_contracts.planning import ScheduleFired
from agentsuite_contracts.steps import LlmStep, PlanStep, StepKind
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1, reply_topic
from tests.integration.execution.engine_support import approve, run_plan, steps_of, wait_for
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, plan_approved, publish, send
from tests.integration.execution.test_projections_redelivery import deliveries, shuffler
from tests.integration.kafka_helpers import eventually

PLANS, SCHEDULES = PLANNING_PLANS_V1, PLANNING_SCHEDULES_V1
SEEDS = [7, 2026]
DUE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# the test plays llm-gateway: it answers on the reply topic execution's requests name
REPLIES = reply_topic("execution")


async def applied(ex: Execution, group: str, ids: list[UUID]) -> bool:
    """Whether every envelope of `ids` was applied by consumer `group` (the inbox: the
    session's other execution app may own some partitions)."""
    rows = await ex.owner_sql(
        "SELECT count(*) FROM inbox WHERE consumer = :group AND event_id = ANY(:ids)",
        group=group,
        ids=ids,
    )
    return bool(rows[0][0] == len(ids))


async def deliver(
    ex: Execution, group: str, topic: str, rng: random.Random, events: list[Any]
) -> int:
    """Send each event 1-5 times, shuffled; return once every distinct envelope is applied.
    The number of deliveries sent."""
    sent = deliveries(rng, events)
    await send(ex.kafka, topic, sent)
    ids = list({e.id for e in sent})
    await eventually(lambda: applied(ex, group, ids), within=60)
    return len(sent)


@pytest.mark.parametrize("seed", SEEDS)
async def test_schedule_firings_start_exactly_one_run_per_slot(
    execution: Execution, seed: int
) -> None:
    rng = shuffler(seed)
    firings: list[Envelope[Any]] = []
    slots: set[tuple[UUID, datetime]] = set()
    tenants = [uuid4(), uuid4()]
    for tenant in tenants:
        plan = plan_approved()
        await publish(execution.kafka, PLANS, plan, tenant_id=tenant)

        async def seen(plan_id: UUID = plan.plan_id) -> bool:
            rows = await execution.owner_sql(
                "SELECT 1 FROM plan_versions WHERE plan_id = :id", id=plan_id
            )
            return bool(rows)

        await eventually(seen, within=30)
        for _ in range(2):  # two schedules of the plan, three slots each
            schedule = uuid4()
            for hour in range(3):
                fired = ScheduleFired(
                    schedule_id=schedule,
                    plan_id=plan.plan_id,
                    plan_version=1,
                    due_at=DUE + timedelta(hours=hour),
                )
                slots.add((schedule, fired.due_at))
                firings.append(envelope(fired, tenant_id=tenant))
    count = await deliver(execution, "execution.schedules", SCHEDULES, rng, firings)

    rows = await execution.owner_sql(
        "SELECT schedule_id, due_at, count(*) FROM executions "
        "WHERE tenant_id = ANY(:t) GROUP BY schedule_id, due_at",
        t=tenants,
    )
    runs = {(r[0], r[1]): r[2] for r in rows}
    print(f"schedules: {len(firings)} firings delivered {count} times -> {sum(runs.values())} runs")
    assert set(runs) == slots
    assert set(runs.values()) == {1}


# --- LLM answers ----------------------------------------------------------------------------

KEYS = ("left", "right")
"""Two llm steps per run, side by side: both calls are pending at once."""


def llm_step(key: str) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.LLM,
        llm=LlmStep(prompt=f"say {key}", model="m-redelivery", max_tokens=50),
    )


def answer(request_id: UUID, run_id: UUID, prompt: int, completion: int) -> LlmResponse:
    """The gateway's answer to one call: `prompt` + `completion` tokens at 1 micro each."""
    return LlmResponse(
        request_id=request_id,
        requester="execution",
        status="ok",
        message=ChatMessage(role=Role.ASSISTANT, content=f"done {request_id}"),
        usage=Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cost=Money(amount_micros=prompt + completion, currency="USD"),
        ),
        model="m-redelivery",
        provider="stub",
        latency_ms=1,
        run_id=str(run_id),
    )


async def pending_calls(ex: Execution, tenant: UUID, run_id: UUID) -> list[dict[str, Any]]:
    """The run's LLM calls once each of its steps waits on one."""
    found: list[dict[str, Any]] = []

    async def all_sent() -> bool:
        nonlocal found
        async with ex.deps.uow(tenant) as uow:
            found = await uow.llm_calls.pending_of(run_id)
        return len(found) == len(KEYS)

    await eventually(all_sent, within=30)
    return found


@pytest.mark.parametrize("seed", SEEDS)
async def test_llm_answers_settle_each_step_once(engine: Execution, seed: int) -> None:
    rng = shuffler(seed)
    runs: list[tuple[UUID, UUID]] = []
    for _ in range(2):
        tenant = uuid4()
        plan = await approve(engine, tenant, [llm_step(k) for k in KEYS])
        for _ in range(2):
            runs.append((tenant, await run_plan(engine, tenant, plan)))
    answers: list[Envelope[Any]] = []
    want: dict[tuple[UUID, str], int] = {}
    for tenant, run_id in runs:
        for call in await pending_calls(engine, tenant, run_id):
            prompt, completion = rng.randint(1, 50), rng.randint(1, 50)
            want[(run_id, call["key"])] = prompt + completion
            sent = answer(call["request_id"], run_id, prompt, completion)
            answers.append(envelope(sent, tenant_id=tenant))
    count = await deliver(engine, "execution.responses", REPLIES, rng, answers)

    settled = 0
    for tenant, run_id in runs:
        run = await wait_for(engine, tenant, run_id)
        assert run.status == "completed", run.error
        steps = await steps_of(engine, tenant, run_id)
        got = {k: (steps[k].state, steps[k].attempt, steps[k].tokens, steps[k].cost) for k in KEYS}
        assert got == {k: ("succeeded", 1, want[(run_id, k)], want[(run_id, k)]) for k in KEYS}
        total = sum(want[(run_id, k)] for k in KEYS)
        assert (run.tokens_used, run.cost_used) == (total, total)
        assert (run.tokens_reserved, run.cost_reserved) == (0, 0)
        async with engine.deps.uow(tenant) as uow:
            calls = await uow.llm_calls.of(run_id)
        assert sorted((c["key"], c["state"], c["tokens"]) for c in calls) == sorted(
            (k, "answered", want[(run_id, k)]) for k in KEYS
        )
        settled += len(calls)
    print(f"llm answers: {len(answers)} answers delivered {count} times -> {settled} settled once")
