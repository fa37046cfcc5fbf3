"""Every attempt leaves a trace, refusals included: a call the gateway refuses before any
upstream call (cost cap, budget, unknown model, context too long, a bad body after auth, a
Kafka request past its deadline) is an `error` trace with the refusal's code and cost 0,
on the OpenAI edge and on the Kafka request path alike, and the usage rollup counts it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_contracts.common import Money
from agentsuite_contracts.llm import BudgetHint
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.requests_support import ask, envelope, publish, replies
from tests.integration.llm_gateway.setup import budget, model, provider
from tests.integration.llm_gateway.stub import stub_upstream

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]


async def error_traces(gateway: Gateway, tenant: uuid.UUID) -> list[dict[str, Any]]:
    await gateway.deps.recorder.flush()
    r = await gateway.client.get("/v1/traces?status=error", headers=auth(tenant))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_http_refusals_are_traced(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    headers = auth(tenant, ["llm:invoke"])
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "dear", price=("100", "100"), context_window=1000)
        capped = {**headers, "X-Agentsuite-Max-Cost": "0.000001"}
        body = {"model": "dear", "messages": MESSAGES, "max_tokens": 100}
        cases = [
            (body, capped, 402, "cost_cap_exceeded"),
            ({**body, "model": "no-such-model"}, headers, 404, "model_not_found"),
            (
                {**body, "messages": [{"role": "user", "content": "word " * 5000}]},
                headers,
                400,
                "context_length_exceeded",
            ),
            ({**body, "messages": "not a list"}, headers, 400, "invalid_request"),
        ]
        for json_body, h, status, code in cases:
            r = await gateway.client.post("/v1/chat/completions", json=json_body, headers=h)
            assert r.status_code == status, r.text
            assert r.json()["error"]["code"] == code
        await budget(
            gateway,
            tenant,
            scope="tenant",
            scope_id=str(tenant),
            period="day",
            limit_cost="0.000001",
            on_exhaust="reject",
        )
        r = await gateway.client.post("/v1/chat/completions", json=body, headers=headers)
        assert r.status_code == 402, r.text
        assert stub.requests == []
    traces = await error_traces(gateway, tenant)
    codes = sorted(t["error_code"] for t in traces)
    assert codes == sorted(
        [
            "cost_cap_exceeded",
            "model_not_found",
            "context_length_exceeded",
            "invalid_request",
            "budget_exceeded",
        ]
    ), traces
    r = await gateway.client.get("/v1/usage?status=error", headers=auth(tenant))
    assert r.status_code == 200, r.text
    totals = r.json()["totals"]
    assert (totals["requests"], totals["cost_micros"]) == (5, 0), totals


async def test_kafka_refusals_are_traced(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    kafka = gateway.settings.kafka_bootstrap_servers
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "dear", price=("100", "100"))
        cap = BudgetHint(max_cost=Money(amount_micros=1, currency="USD"))
        refused = [
            ask("capped", model="dear", budget=cap, max_tokens=100),
            ask("unknown", model="no-such-model"),
            ask("late", model="dear", deadline=datetime.now(UTC) - timedelta(seconds=1)),
        ]
        await publish(kafka, [(str(q.request_id).encode(), envelope(tenant, q)) for q in refused])
        for q in refused:
            [answer] = await replies(kafka, q.request_id, 1)
            assert answer.payload.status == "error"
        assert stub.requests == []

    async def traced() -> bool:
        found = {t["request_id"]: t["error_code"] for t in await error_traces(gateway, tenant)}
        return found == {
            str(refused[0].request_id): "cost_cap_exceeded",
            str(refused[1].request_id): "model_not_found",
            str(refused[2].request_id): "deadline_exceeded",
        }

    await eventually(traced)
