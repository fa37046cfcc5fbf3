"""Budgets on real PostgreSQL: the race (50 concurrent reservations against a budget that
fits 10), settlement, crossings in the outbox, and the expiry of orphaned reservations."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from agentsuite_llm_gateway import settlement
from agentsuite_llm_gateway.budgets import BudgetExhausted, Reservation
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import BudgetRule
from agentsuite_llm_gateway.handlers import budgets as handlers
from agentsuite_llm_gateway.handlers.budgets import CreateBudget
from tests.integration.llm_gateway.harness import Gateway

ESTIMATE = 1_000  # micros per call


async def make_budget(gateway: Gateway, tenant: UUID, **fields: Any) -> BudgetRule:
    async with gateway.deps.uow(tenant) as uow:
        view = await handlers.create_budget(CreateBudget.model_validate(fields), uow, gateway.deps)
        await uow.commit()
    [rule] = [r for r in await rules(gateway, tenant) if r.budget_id == view.budget_id]
    return rule


async def rules(gateway: Gateway, tenant: UUID) -> list[BudgetRule]:
    async with gateway.deps.uow(tenant) as uow:
        return await uow.budgets.rules()


async def counters(gateway: Gateway, budget_id: UUID) -> dict[str, Any]:
    [row] = await gateway.owner_sql(
        "SELECT spent_micros, reserved_micros, spent_tokens, reserved_tokens, warned, exceeded "
        "FROM budgets WHERE budget_id = :b",
        b=budget_id,
    )
    return dict(row._mapping)


async def race(
    gateway: Gateway, caller: Caller, on: list[BudgetRule], n: int, tokens: int, micros: int
) -> tuple[list[Reservation], list[BudgetExhausted]]:
    gate = gateway.deps.budgets
    results = await asyncio.gather(
        *(gate.reserve(caller, on, tokens, micros) for _ in range(n)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Reservation)]
    lost = [r for r in results if isinstance(r, BudgetExhausted)]
    assert len(won) + len(lost) == n, [r for r in results if isinstance(r, BaseException)]
    return won, lost


async def test_fifty_concurrent_reservations_against_a_budget_that_fits_ten(
    gateway: Gateway,
) -> None:
    tenant = uuid.uuid4()
    rule = await make_budget(
        gateway, tenant, scope="tenant", period="day", limit_cost="0.01"
    )  # 10_000 micros: exactly 10 estimates
    won, lost = await race(gateway, Caller(tenant), [rule], 50, 100, ESTIMATE)
    assert (len(won), len(lost)) == (10, 40)
    state = await counters(gateway, rule.budget_id)
    assert state["reserved_micros"] == 10 * ESTIMATE
    assert state["spent_micros"] == 0
    [[held]] = await gateway.owner_sql(
        "SELECT count(*) FROM reservations WHERE budget_id = :b", b=rule.budget_id
    )
    assert held == 10
    assert all(e.rule == rule for e in lost)
    assert "tenant" in str(lost[0])
    assert "0.01" in str(lost[0])


async def test_two_budgets_the_smaller_binds_and_a_refusal_holds_nothing(
    gateway: Gateway,
) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    big = await make_budget(gateway, tenant, scope="tenant", period="month", limit_cost="1")
    small = await make_budget(
        gateway, tenant, scope="user", scope_id=str(user), period="day", limit_tokens=500
    )
    won, lost = await race(gateway, Caller(tenant, user_id=user), [big, small], 50, 100, ESTIMATE)
    assert (len(won), len(lost)) == (5, 45)
    assert all(e.rule == small for e in lost)
    # the refusal says what is spent and what calls in flight hold (issue 14 #6)
    assert str(lost[0]).endswith(
        "day token budget 500: 0 spent, 500 held by calls in flight, 0 left; "
        "this call needs up to 100"
    ), str(lost[0])
    assert lost[0].figures["tokens"] == {
        "limit": 500,
        "spent": 0,
        "held": 500,
        "left": 0,
        "needs": 100,
    }
    # the tenant budget holds exactly what the 5 winners hold: the refused held nothing
    assert (await counters(gateway, big.budget_id))["reserved_micros"] == 5 * ESTIMATE
    assert (await counters(gateway, small.budget_id))["reserved_tokens"] == 500


async def test_settle_spends_the_real_amount_and_frees_the_rest(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    rule = await make_budget(gateway, tenant, scope="tenant", period="day", limit_cost="0.01")
    won, _ = await race(gateway, Caller(tenant), [rule], 10, 100, ESTIMATE)
    assert len(won) == 10
    with pytest.raises(BudgetExhausted):
        await gateway.deps.budgets.reserve(Caller(tenant), [rule], 100, ESTIMATE)
    async with gateway.deps.uow(tenant) as uow:
        await settlement.settle(uow, won[0].reservation_id, 40, 300, uuid.uuid4())
        await uow.commit()
    state = await counters(gateway, rule.budget_id)
    assert (state["spent_micros"], state["reserved_micros"]) == (300, 9 * ESTIMATE)
    assert (state["spent_tokens"], state["reserved_tokens"]) == (40, 900)
    # 700 micros were freed: room for exactly one more estimate
    await gateway.deps.budgets.reserve(Caller(tenant), [rule], 100, 700)
    with pytest.raises(BudgetExhausted):
        await gateway.deps.budgets.reserve(Caller(tenant), [rule], 1, 1)
    # settling again is harmless
    async with gateway.deps.uow(tenant) as uow:
        await settlement.settle(uow, won[0].reservation_id, 40, 300, uuid.uuid4())
        await uow.commit()
    assert (await counters(gateway, rule.budget_id))["spent_micros"] == 300


async def test_release_gives_everything_back(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    rule = await make_budget(gateway, tenant, scope="tenant", period="total", limit_tokens=100)
    held = await gateway.deps.budgets.reserve(Caller(tenant), [rule], 100, 0)
    await gateway.deps.budgets.release(tenant, held)
    state = await counters(gateway, rule.budget_id)
    assert (state["reserved_tokens"], state["spent_tokens"]) == (0, 0)
    await gateway.deps.budgets.reserve(Caller(tenant), [rule], 100, 0)


async def outbox(gateway: Gateway, tenant: UUID, type_: str) -> list[dict[str, Any]]:
    """The envelopes of `type_` this tenant's transactions queued, keyed by the tenant."""
    rows = await gateway.owner_sql(
        "SELECT key, value FROM outbox WHERE tenant_id = :t AND type = :y ORDER BY id",
        t=tenant,
        y=type_,
    )
    assert all(key == str(tenant) for key, _ in rows)
    return [json.loads(value) for _, value in rows]


async def test_crossings_are_emitted_once_per_window(gateway: Gateway) -> None:
    tenant, key = uuid.uuid4(), uuid.uuid4()
    rule = await make_budget(
        gateway,
        tenant,
        scope="api_key",
        scope_id=str(key),
        period="month",
        limit_cost="0.01",
        warn_percent=50,
    )
    caller = Caller(tenant, api_key_id=key)
    request = uuid.uuid4()
    for spend in (4_000, 2_000, 1_000, 3_000):
        held = await gateway.deps.budgets.reserve(caller, [rule], 10, spend)
        async with gateway.deps.uow(tenant) as uow:
            await settlement.settle(uow, held.reservation_id, 10, spend, request)
            await uow.commit()
    with pytest.raises(
        BudgetExhausted,
        match=r"cost budget 0\.01 USD: 0\.01 spent, 0 held by calls in flight, 0 left",
    ):
        await gateway.deps.budgets.reserve(caller, [rule], 10, 500)
    # 4000 (40%), 6000 (60%: warning), 7000, 10000 (100%: exceeded), then nothing fits
    warnings = await outbox(gateway, tenant, "llm.budget.warning")
    exceeded = await outbox(gateway, tenant, "llm.budget.exceeded")
    assert len(warnings) == 1
    assert len(exceeded) == 1
    w, x = warnings[0]["payload"], exceeded[0]["payload"]
    assert w["threshold_percent"] == 50
    assert w["spent"]["amount_micros"] == 6_000
    assert (w["scope"], w["subject_kind"], w["subject_id"]) == ("tenant", "api_key", str(key))
    assert x["action"] == "blocked"
    assert x["request_id"] == str(request)
    assert x["limit"] == {"amount_micros": 10_000, "currency": "USD"}


async def test_expiry_settles_orphans_at_their_full_estimate(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    rule = await make_budget(
        gateway,
        tenant,
        scope="tenant",
        period="total",
        limit_cost="0.005",
        on_exhaust="downgrade",
        downgrade_to="fast",
    )
    held = await gateway.deps.budgets.reserve(Caller(tenant), [rule], 77, 5_000)
    await gateway.owner_sql(
        "UPDATE reservations SET expires_at = now() - interval '1 second' "
        "WHERE reservation_id = :r",
        r=held.reservation_id,
    )
    async with gateway.deps.uow(None) as every:
        assert await handlers.expire(every) >= 1
        await every.commit()
    state = await counters(gateway, rule.budget_id)
    assert (state["spent_micros"], state["reserved_micros"]) == (5_000, 0)
    assert state["spent_tokens"] == 77
    # emitted from the all-tenants unit of work, yet as the budget's tenant's event
    [event] = await outbox(gateway, tenant, "llm.budget.exceeded")
    assert event["tenant_id"] == str(tenant)
    assert (event["payload"]["action"], event["payload"]["request_id"]) == ("warned", None)


async def test_an_ended_window_rolls_forward_keeping_what_is_reserved(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    rule = await make_budget(gateway, tenant, scope="tenant", period="day", limit_cost="0.01")
    held = await gateway.deps.budgets.reserve(Caller(tenant), [rule], 1, 2_000)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await gateway.owner_sql(
        "UPDATE budgets SET window_start = :y, spent_micros = 8000, exceeded = true "
        "WHERE budget_id = :b",
        y=yesterday.replace(hour=0, minute=0, second=0, microsecond=0),
        b=rule.budget_id,
    )
    # yesterday's 8000 are gone; the 2000 still out stay held: 8000 fit, not 8001
    await gateway.deps.budgets.reserve(Caller(tenant), [rule], 1, 8_000)
    with pytest.raises(BudgetExhausted):
        await gateway.deps.budgets.reserve(Caller(tenant), [rule], 1, 1)
    state = await counters(gateway, rule.budget_id)
    assert (state["spent_micros"], state["reserved_micros"], state["exceeded"]) == (
        0,
        10_000,
        False,
    )
    await gateway.deps.budgets.release(tenant, held)


async def test_a_batch_settles_many_reservations_while_others_reserve(gateway: Gateway) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    a = await make_budget(gateway, tenant, scope="tenant", period="day", limit_cost="1")
    b = await make_budget(
        gateway, tenant, scope="user", scope_id=str(user), period="day", limit_cost="1"
    )
    caller = Caller(tenant, user_id=user)
    # reservations on both budgets, and on each alone, settled in an order that takes the
    # budgets' locks out of id order if taken one reservation at a time
    held = [await gateway.deps.budgets.reserve(caller, on, 1, 1_000) for on in ([b], [a, b], [a])]
    items = [(h.reservation_id, 1, 100, None) for h in reversed(held)]

    async def flush() -> None:
        async with gateway.deps.uow(tenant) as uow:
            await settlement.settle_many(uow, items)
            await uow.commit()

    _, (reserved, refused) = await asyncio.gather(
        flush(), race(gateway, caller, [a, b], 30, 1, 1_000)
    )
    assert (len(reserved), len(refused)) == (30, 0)
    state_a, state_b = await counters(gateway, a.budget_id), await counters(gateway, b.budget_id)
    assert (state_a["spent_micros"], state_a["reserved_micros"]) == (200, 30_000)
    assert (state_b["spent_micros"], state_b["reserved_micros"]) == (200, 30_000)


async def test_the_expiry_job_is_scheduled_once_and_runs(gateway: Gateway) -> None:
    for _ in range(2):
        async with gateway.deps.uow(None) as uow:
            await handlers.schedule_expiry(uow)
            await uow.commit()
    [[live]] = await gateway.owner_sql(
        "SELECT count(*) FROM jobs WHERE kind = :k AND tenant_id IS NULL", k=handlers.EXPIRE
    )
    assert live == 1
    tenant = uuid.uuid4()
    rule = await make_budget(gateway, tenant, scope="tenant", period="total", limit_tokens=50)
    held = await gateway.deps.budgets.reserve(Caller(tenant), [rule], 50, 0)
    await gateway.owner_sql(
        "UPDATE reservations SET expires_at = now() - interval '1 second' "
        "WHERE reservation_id = :r",
        r=held.reservation_id,
    )
    run = handlers.jobs(gateway.deps.uow)[handlers.EXPIRE]
    async with gateway.deps.uow(None) as job_uow:
        await run(None, job_uow)  # type: ignore[arg-type]  # the handler reads no job field
    assert (await counters(gateway, rule.budget_id))["spent_tokens"] == 50
