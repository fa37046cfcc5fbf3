"""The recorder on the real database: batches written per tenant with their rollup and
their `llm.usage.v1` events, nothing lost when the database is unreachable."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy.exc import IntegrityError

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.llm import UsageRecorded
from agentsuite_contracts.registry import decode
from agentsuite_contracts.topic_names import LLM_USAGE_V1
from agentsuite_kit.db import make_engine
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.traces import Attempt, Trace
from agentsuite_llm_gateway.recorder import Recorder
from agentsuite_llm_gateway.uow import GatewayUow
from tests.integration.llm_gateway.harness import Gateway


def make_trace(tenant: UUID, at: datetime | None = None, **kw: Any) -> Trace:
    values: dict[str, Any] = {
        "call_id": uuid7(),
        "request_id": uuid7(),
        "at": at or datetime.now(UTC),
        "caller": Caller(tenant),
        "requested": "default",
        "model": "m1",
        "provider": "p1",
        "status": "ok",
        "tokens": Tokens(prompt=10, completion=5),
        "cost_micros": 100,
        "currency": "USD",
        "latency_ms": 20,
    }
    values.update(kw)
    return Trace(**values)


async def past_partitions(gateway: Gateway) -> None:
    """Partitions for the last two months too: the migration makes only this month's and
    the next, and these tests date traces days back (which may be last month)."""
    await gateway.owner_sql("SELECT llm_calls_partitions(now() - interval '2 months', 3, 1200)")


def random_trace(rng: random.Random, tenant: UUID, keys: list[UUID], users: list[UUID]) -> Trace:
    prompt = rng.choice([None, uuid.UUID(int=1), uuid.UUID(int=2)])
    status = rng.choice(["ok", "ok", "error"])
    return make_trace(
        tenant,
        at=datetime.now(UTC) - timedelta(days=rng.randrange(3), minutes=rng.randrange(60)),
        caller=Caller(
            tenant,
            api_key_id=rng.choice([None, *keys]),
            user_id=rng.choice([None, *users]),
            run_id=rng.choice([None, "run-a", "run-b"]),
        ),
        model=rng.choice(["m1", "m2", "m3"]),
        provider=rng.choice(["p1", "p2"]),
        status=status,
        error_code=None if status == "ok" else "timeout",
        tokens=Tokens(
            prompt=rng.randrange(1, 2000),
            completion=rng.randrange(0, 500),
            cached=rng.randrange(0, 10),
            reasoning=rng.randrange(0, 10),
        ),
        cost_micros=rng.randrange(0, 100_000),
        latency_ms=rng.randrange(1, 3000),
        ttft_ms=rng.choice([None, 5]),
        stream=rng.random() < 0.5,
        prompt_id=prompt,
        prompt_version=None if prompt is None else rng.randrange(1, 3),
        attempts=(Attempt("m0", "p0", "server", 3, "500"), Attempt("m1", "p1", "ok", 9)),
        labels={"step": str(rng.randrange(5))},
    )


async def test_a_thousand_traces_of_two_tenants(gateway: Gateway) -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not secrets
    a, b = uuid.uuid4(), uuid.uuid4()
    keys, users = [uuid.uuid4(), uuid.uuid4()], [uuid.uuid4()]
    traces = [random_trace(rng, rng.choice([a, b]), keys, users) for _ in range(1000)]
    await past_partitions(gateway)
    recorder = Recorder(gateway.settings, gateway.deps.uow)
    for t in traces:
        recorder.record(t)
    assert recorder.pending == 1000
    await recorder.flush()
    assert recorder.pending == 0

    for tenant in (a, b):
        mine = [t for t in traces if t.caller.tenant_id == tenant]
        rows = await gateway.owner_sql(
            "SELECT call_id, created_at, cost_micros, attempts, run_id FROM calls "
            "WHERE tenant_id = :t",
            t=tenant,
        )
        assert {r.call_id for r in rows} == {t.call_id for t in mine}
        by_id = {t.call_id: t for t in mine}
        for r in rows:
            t = by_id[r.call_id]
            assert r.created_at == t.at
            assert r.cost_micros == t.cost_micros
            assert r.run_id == t.caller.run_id
            assert [x["status"] for x in r.attempts] == ["server", "ok"]

        [sums] = await gateway.owner_sql(
            "SELECT sum(requests) AS n, sum(prompt_tokens) AS p, sum(completion_tokens) AS c, "
            "sum(cached_tokens) AS ca, sum(reasoning_tokens) AS r, sum(cost_micros) AS cost, "
            "sum(latency_ms_sum) AS lat FROM usage_daily WHERE tenant_id = :t",
            t=tenant,
        )
        assert sums.n == len(mine)
        assert sums.p == sum(t.tokens.prompt for t in mine)
        assert sums.c == sum(t.tokens.completion for t in mine)
        assert sums.ca == sum(t.tokens.cached for t in mine)
        assert sums.r == sum(t.tokens.reasoning for t in mine)
        assert sums.cost == sum(t.cost_micros for t in mine)
        assert sums.lat == sum(t.latency_ms for t in mine)
        # one rollup row per key, summing exactly that key's traces
        m1_ok = [t for t in mine if t.model == "m1" and t.status == "ok"]
        [part] = await gateway.owner_sql(
            "SELECT sum(requests) AS n, sum(cost_micros) AS cost FROM usage_daily "
            "WHERE tenant_id = :t AND model = 'm1' AND status = 'ok'",
            t=tenant,
        )
        assert (part.n, part.cost) == (len(m1_ok), sum(t.cost_micros for t in m1_ok))

        events = await gateway.owner_sql(
            "SELECT topic, key, value FROM outbox WHERE tenant_id = :t AND type = :type",
            t=tenant,
            type="llm.usage.recorded",
        )
        assert len(events) == len(mine)
        assert {e.topic for e in events} == {LLM_USAGE_V1}
        assert {e.key for e in events} == {str(tenant)}
        payloads = {
            p.request_id: p for p in (decode(LLM_USAGE_V1, bytes(e.value)).payload for e in events)
        }
        assert set(payloads) == {t.request_id for t in mine}
        for t in mine:
            p = payloads[t.request_id]
            assert isinstance(p, UsageRecorded)
            assert (p.model, p.provider, p.status, p.requested) == (
                t.model,
                t.provider,
                t.status,
                "default",
            )
            assert p.usage.cost.amount_micros == t.cost_micros
            assert (p.usage.cached_tokens, p.usage.reasoning_tokens) == (
                t.tokens.cached,
                t.tokens.reasoning,
            )
            assert (p.run_id, p.api_key_id, p.user_id) == (
                t.caller.run_id,
                t.caller.api_key_id,
                t.caller.user_id,
            )
            assert (p.prompt_id, p.prompt_version, p.error_code) == (
                t.prompt_id,
                t.prompt_version,
                t.error_code,
            )
            assert p.labels == t.labels


async def test_a_flush_retried_after_its_commit_counts_once(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    t = make_trace(tenant)
    recorder = Recorder(gateway.settings, gateway.deps.uow)
    recorder.record(t)
    await recorder.flush()
    recorder.record(t)  # as if the first commit's answer had been lost
    await recorder.flush()
    [row] = await gateway.owner_sql(
        "SELECT requests FROM usage_daily WHERE tenant_id = :t", t=tenant
    )
    assert row.requests == 1
    [n] = await gateway.owner_sql("SELECT count(*) AS n FROM outbox WHERE tenant_id = :t", t=tenant)
    assert n.n == 1


def _switchable(gateway: Gateway) -> tuple[Callable[[UUID | None], GatewayUow], dict[str, Any]]:
    """A uow factory pointing at a port where no database listens until `state["up"]`."""
    dead = make_engine("postgresql+asyncpg://nobody:x@127.0.0.1:9/nowhere", pool_size=1)
    state: dict[str, Any] = {"up": False, "tries_down": 0}

    def factory(tenant: UUID | None) -> GatewayUow:
        if state["up"]:
            return gateway.deps.uow(tenant)
        state["tries_down"] += 1
        return GatewayUow(dead, tenant_id=tenant)

    return factory, state


async def test_a_database_outage_loses_nothing(gateway: Gateway) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    factory, state = _switchable(gateway)
    recorder = Recorder(gateway.settings.model_copy(update={"trace_batch_size": 10}), factory)
    traces = [make_trace(a if i % 2 else b) for i in range(30)]
    for t in traces:
        recorder.record(t)
    with pytest.raises(ConnectionRefusedError):
        await recorder.flush()
    assert recorder.pending == 30
    # one refused connection ends the flush: not one try per tenant and batch
    assert state["tries_down"] == 1
    state["up"] = True
    await recorder.flush()
    assert recorder.pending == 0
    rows = await gateway.owner_sql(
        "SELECT call_id FROM calls WHERE tenant_id IN (:a, :b)", a=a, b=b
    )
    assert sorted(r.call_id for r in rows) == sorted(t.call_id for t in traces)


async def test_the_background_writer_retries_until_the_database_is_back(
    gateway: Gateway,
) -> None:
    tenant = uuid.uuid4()
    factory, state = _switchable(gateway)
    recorder = Recorder(gateway.settings, factory)
    await recorder.start()
    try:
        t = make_trace(tenant)
        recorder.record(t)
        await asyncio.sleep(0.3)  # several failed flushes
        assert recorder.pending == 1
        assert recorder.flush_failures._value.get() >= 1
        state["up"] = True
        for _ in range(100):
            if await gateway.owner_sql("SELECT 1 FROM calls WHERE tenant_id = :t", t=tenant):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the trace was never written")
    finally:
        await recorder.aclose()


async def test_a_full_queue_drops_and_counts_never_blocks(gateway: Gateway) -> None:
    settings = gateway.settings.model_copy(update={"trace_queue_max": 5})
    recorder = Recorder(settings, gateway.deps.uow)
    tenant = uuid.uuid4()
    for _ in range(8):
        recorder.record(make_trace(tenant))
    assert recorder.pending == 5
    assert recorder.dropped.labels("queue_full")._value.get() == 3
    await recorder.flush()
    [n] = await gateway.owner_sql("SELECT count(*) AS n FROM calls WHERE tenant_id = :t", t=tenant)
    assert n.n == 5


async def test_a_poison_trace_is_dropped_without_blocking_its_tenant(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    recorder = Recorder(gateway.settings, gateway.deps.uow)
    good = [make_trace(tenant) for _ in range(3)]
    # a month with no partition: its insert fails however often it is tried
    poison = make_trace(tenant, at=datetime(1990, 1, 1, tzinfo=UTC))
    for t in (good[0], poison, *good[1:]):
        recorder.record(t)
    for _ in range(5):
        with contextlib.suppress(IntegrityError):  # the poison's failures are the point
            await recorder.flush()
    rows = await gateway.owner_sql("SELECT call_id FROM calls WHERE tenant_id = :t", t=tenant)
    assert {r.call_id for r in rows} == {t.call_id for t in good}
    assert recorder.pending == 0
    assert recorder.dropped.labels("poison")._value.get() == 1


async def test_a_flush_settles_the_traces_reservation_once(gateway: Gateway) -> None:
    from tests.integration.llm_gateway.test_budgets import counters, make_budget

    tenant = uuid.uuid4()
    rule = await make_budget(gateway, tenant, scope="tenant", period="day", limit_cost="0.01")
    held = await gateway.deps.budgets.reserve(Caller(tenant), [rule], 500, 5_000)
    t = make_trace(
        tenant, reservation_id=held.reservation_id, tokens=Tokens(30, 10), cost_micros=1_234
    )
    recorder = Recorder(gateway.settings, gateway.deps.uow)
    recorder.record(t)
    await recorder.flush()
    state = await counters(gateway, rule.budget_id)
    assert (state["spent_micros"], state["reserved_micros"]) == (1_234, 0)
    assert (state["spent_tokens"], state["reserved_tokens"]) == (40, 0)
    recorder.record(t)  # the same trace again (a retried batch): nothing is spent twice
    await recorder.flush()
    assert (await counters(gateway, rule.budget_id))["spent_micros"] == 1_234
