"""Budgets through the whole request path: 50 concurrent calls against a budget that fits
10 give exactly 10 answers and never overspend; a downgrade budget routes to its cheaper
model; a request's cost cap picks the first model of the alias whose estimate fits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from agentsuite_llm_gateway.domain.budgets import prompt_upper_bound
from agentsuite_llm_gateway.domain.catalog import Price
from agentsuite_llm_gateway.domain.costs import estimate_micros
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import alias, budget, model, provider
from tests.integration.llm_gateway.stub import stub_upstream

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
PRICE = Price(effective_from=datetime(2020, 1, 1, tzinfo=UTC), input=1_000_000, output=1_000_000)


def estimate(max_tokens: int) -> int:
    return estimate_micros(PRICE, prompt_upper_bound(MESSAGES), max_tokens)


def units(micros: int) -> str:
    return str(Decimal(micros) / 1_000_000)


async def test_fifty_concurrent_calls_against_a_budget_for_ten(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    # the upstream answers slowly, so every reservation is taken while all 50 are in flight
    async with stub_upstream(latency=1.0) as stub:
        pid = await provider(gateway, tenant, "slow", stub.url)
        await model(gateway, tenant, pid, "priced", price=("1", "1"))
        limit = 10 * estimate(100)
        bid = await budget(
            gateway,
            tenant,
            scope="tenant",
            scope_id=str(tenant),
            period="month",
            limit_cost=units(limit),
            on_exhaust="reject",
        )
        body = {"model": "priced", "messages": MESSAGES, "max_tokens": 100}

        async def call() -> int:
            r = await gateway.client.post(
                "/v1/chat/completions", json=body, headers=auth(tenant, ["llm:invoke"])
            )
            return r.status_code

        statuses = await asyncio.gather(*(call() for _ in range(50)))
    assert statuses.count(200) == 10, statuses
    assert statuses.count(402) == 40
    await gateway.deps.recorder.flush()
    r = await gateway.client.get(f"/v1/budgets/{bid}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    state = r.json()
    assert Decimal(state["spent_cost"]) * 1_000_000 <= limit
    assert Decimal(state["spent_cost"]) > 0
    assert Decimal(state["reserved_cost"]) == 0
    # every upstream request was told the output it may use: the reservation is a bound
    assert all(req.body["max_tokens"] == 100 for req in stub.requests)
    assert len(stub.requests) == 10


async def test_the_output_reserved_is_sent_upstream_as_max_tokens(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "capped", price=("1", "1"), max_output=300)
        await budget(
            gateway,
            tenant,
            scope="tenant",
            scope_id=str(tenant),
            period="day",
            limit_cost="100",
            on_exhaust="reject",
        )
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "capped", "messages": MESSAGES},
            headers=auth(tenant, ["llm:invoke"]),
        )
        assert r.status_code == 200, r.text
        assert stub.requests[0].body["max_tokens"] == 300


async def test_an_exhausted_downgrade_budget_routes_to_the_cheaper_model(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    user = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "dear", price=("1", "1"))
        await budget(
            gateway,
            tenant,
            scope="user",
            scope_id=str(user),
            period="day",
            limit_cost=units(estimate(50)),
            on_exhaust="downgrade",
            downgrade_to="local-echo",
        )
        body = {"model": "dear", "messages": MESSAGES, "max_tokens": 50}
        headers = auth(tenant, ["llm:invoke"], subject=user)
        first = await gateway.client.post("/v1/chat/completions", json=body, headers=headers)
        second = await gateway.client.post("/v1/chat/completions", json=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["model"] == "dear"
    assert second.status_code == 200, second.text
    assert second.json()["model"] == "local-echo"


async def test_a_cost_cap_picks_the_first_model_that_fits(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "dear", price=("100", "100"))
        await model(gateway, tenant, pid, "cheap", price=("1", "1"))
        await alias(gateway, tenant, "smartish", "dear", "cheap")
        body = {"model": "smartish", "messages": MESSAGES, "max_tokens": 100}
        fits_cheap = units(estimate(100))
        headers = {**auth(tenant, ["llm:invoke"]), "X-Agentsuite-Max-Cost": fits_cheap}
        r = await gateway.client.post("/v1/chat/completions", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "cheap"

        headers["X-Agentsuite-Max-Cost"] = "0.000001"
        r = await gateway.client.post("/v1/chat/completions", json=body, headers=headers)
    assert r.status_code == 402, r.text
    assert r.json()["error"]["code"] == "cost_cap_exceeded"
