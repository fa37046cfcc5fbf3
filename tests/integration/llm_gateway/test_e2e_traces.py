"""Traces and usage of real calls through the HTTP edge: a fallback's trace holds its whole
path, a stream's its time to first token, a failure its error code; `/v1/usage` sums
exactly what the replies said they cost; every call is one `llm.usage.recorded` event in
the outbox, carrying the run id the request named."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import openai
import pytest

from agentsuite_contracts.topic_names import LLM_USAGE_V1
from tests.integration.llm_gateway.e2e_support import duo, llm, traces
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.stub import Fail, Reply, Stub

HELLO: Any = [{"role": "user", "content": "hello there gateway"}]


@pytest.fixture
async def pair(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub, Stub]]:
    """A tenant whose alias `duo` tries model-a (provider a), then model-b (provider b)."""
    async with duo(gateway, price_a=("3", "7"), price_b=("5", "11")) as (tenant, first, second, _):
        yield tenant, first, second


async def usage_events(gateway: Gateway, tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = await gateway.owner_sql(
        "SELECT topic, value FROM outbox WHERE tenant_id = :t AND type = 'llm.usage.recorded' "
        "ORDER BY id",
        t=tenant,
    )
    assert {topic for topic, _ in rows} <= {LLM_USAGE_V1}
    return [json.loads(value)["payload"] for _, value in rows]


async def test_a_fallback_is_traced_with_its_path(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, _ = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(429)] * tries)
    raw = await llm(base_url, tenant).chat.completions.with_raw_response.create(
        model="duo", messages=HELLO
    )
    body = json.loads(raw.text)
    [trace] = await traces(gateway, tenant, request_id=body["agentsuite"]["request_id"])
    assert trace["status"] == "ok"
    assert trace["error_code"] is None
    assert (trace["requested"], trace["model"], trace["provider"]) == ("duo", "model-b", "b")
    path = [(a["model"], a["provider"], a["status"]) for a in trace["attempts"]]
    assert path == [("model-a", "a", "rate_limited")] * tries + [("model-b", "b", "ok")]
    assert trace["attempts"] == body["agentsuite"]["attempts"]
    assert trace["latency_ms"] >= sum(a["ms"] for a in trace["attempts"])
    assert trace["ttft_ms"] is None
    assert trace["stream"] is False
    assert trace["cost_micros"] == body["agentsuite"]["cost_micros"] > 0


async def test_a_streamed_fallback_is_traced_with_its_time_to_first_token(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    second.latency = 0.05  # the first token is at least this late
    request_id = str(uuid.uuid4())
    stream = await llm(base_url, tenant).chat.completions.create(
        model="duo",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Request-Id": request_id},
    )
    cost = None
    async for chunk in stream:
        if chunk.usage is not None:
            cost = (chunk.model_extra or {})["agentsuite"]["cost_micros"]
    [trace] = await traces(gateway, tenant, request_id=request_id)
    assert (trace["status"], trace["stream"], trace["model"]) == ("ok", True, "model-b")
    assert [a["status"] for a in trace["attempts"]] == ["server"] * tries + ["ok"]
    assert trace["ttft_ms"] is not None
    assert 50 <= trace["ttft_ms"] <= trace["latency_ms"]
    # 3 words in, 3 words echoed: priced at model-b's 5 and 11 per million
    assert (trace["prompt_tokens"], trace["completion_tokens"]) == (3, 3)
    assert trace["cost_micros"] == cost == 3 * 5 + 3 * 11


async def test_a_failed_call_is_traced_as_an_error(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, second = pair
    tries = gateway.settings.retries + 1
    first.script(*[Fail(500)] * tries)
    second.script(*[Fail(503)] * tries)
    request_id = str(uuid.uuid4())
    with pytest.raises(openai.APIStatusError) as failed:
        await llm(base_url, tenant).chat.completions.create(
            model="duo", messages=HELLO, extra_headers={"X-Request-Id": request_id}
        )
    assert failed.value.status_code == 502
    [trace] = await traces(gateway, tenant, request_id=request_id)
    assert trace["status"] == "error"
    assert trace["error_code"] == "provider_error"
    assert trace["model"] == "model-b"  # the last one tried
    assert len(trace["attempts"]) == 2 * tries
    assert all(a["status"] == "server" for a in trace["attempts"])
    assert (trace["cost_micros"], trace["total_tokens"]) == (0, 0)
    [error] = await traces(gateway, tenant, status="error")
    assert error["call_id"] == trace["call_id"]
    [event] = await usage_events(gateway, tenant)
    assert (event["request_id"], event["status"]) == (request_id, "error")
    assert event["error_code"] == "provider_error"
    assert event["usage"]["cost"]["amount_micros"] == 0


async def test_usage_sums_what_the_replies_said_and_each_call_is_one_event(
    gateway: Gateway, base_url: str, pair: tuple[uuid.UUID, Stub, Stub]
) -> None:
    tenant, first, _ = pair
    client = llm(base_url, tenant)
    tries = gateway.settings.retries + 1
    run = f"run-{uuid.uuid4().hex[:8]}"
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
    first.script(Reply("a long answer", usage=usage), *[Fail(429)] * tries)
    expected: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    request_ids: list[str] = []

    async def call(text: str, *, run_id: str | None = None) -> None:
        headers = {"X-Agentsuite-Run-Id": run_id} if run_id else {}
        raw = await client.chat.completions.with_raw_response.create(
            model="duo", messages=[{"role": "user", "content": text}], extra_headers=headers
        )
        body = json.loads(raw.text)
        assert body["agentsuite"]["run_id"] == run_id
        sums = expected[body["model"]]
        sums["requests"] += 1
        sums["prompt_tokens"] += body["usage"]["prompt_tokens"]
        sums["completion_tokens"] += body["usage"]["completion_tokens"]
        sums["cost_micros"] += body["agentsuite"]["cost_micros"]
        request_ids.append(body["agentsuite"]["request_id"])

    await call("one two", run_id=run)  # model-a, scripted usage
    await call("three four five", run_id=run)  # model-a's 429s: model-b
    await call("six")  # model-a
    await call("seven eight nine ten")  # model-a
    assert set(expected) == {"model-a", "model-b"}

    await gateway.deps.recorder.flush()
    r = await gateway.client.get(
        "/v1/usage", params={"group_by": "model,day"}, headers=auth(tenant)
    )
    assert r.status_code == 200, r.text
    report = r.json()
    today = datetime.now(UTC).date().isoformat()
    got = {
        g["group"]["model"]: {
            k: g[k] for k in ("requests", "prompt_tokens", "completion_tokens", "cost_micros")
        }
        for g in report["data"]
    }
    assert got == expected
    assert {g["group"]["day"] for g in report["data"]} == {today}
    assert report["totals"]["cost_micros"] == sum(s["cost_micros"] for s in expected.values())
    assert report["totals"]["requests"] == 4

    events = await usage_events(gateway, tenant)
    assert sorted(e["request_id"] for e in events) == sorted(request_ids)
    by_request = {e["request_id"]: e for e in events}
    assert [by_request[r]["run_id"] for r in request_ids] == [run, run, None, None]
    assert all(e["status"] == "ok" and e["requester"] == "api" for e in events)
    assert sum(e["usage"]["cost"]["amount_micros"] for e in events) == sum(
        s["cost_micros"] for s in expected.values()
    )
    assert by_request[request_ids[1]]["model"] == "model-b"
    assert by_request[request_ids[1]]["requested"] == "duo"
    # the run id is also a trace filter
    run_traces = await traces(gateway, tenant, run_id=run)
    assert sorted(t["request_id"] for t in run_traces) == sorted(request_ids[:2])
