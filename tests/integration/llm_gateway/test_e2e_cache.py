"""The response cache through the HTTP edge: `X-Agentsuite-Cache: on` stores an answer and
serves the same request again for nothing (the upstream sees it once); with a run id the
entry is that run's alone, so a resumed run replays its answers without paying again, even
with its budget spent, while another run asks the upstream afresh."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest

from agentsuite_llm_gateway.domain.budgets import prompt_upper_bound
from tests.integration.llm_gateway.e2e_support import llm
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import budget, model, provider
from tests.integration.llm_gateway.stub import Reply, Stub, stub_upstream

ON = {"X-Agentsuite-Cache": "on"}


@pytest.fixture
async def one(gateway: Gateway) -> AsyncIterator[tuple[uuid.UUID, Stub]]:
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "stub", stub.url)
        await model(gateway, tenant, pid, "cached-model", price=("2", "4"))
        yield tenant, stub


def ask(text: str) -> Any:
    return [{"role": "user", "content": text}]


async def call(
    client: openai.AsyncOpenAI, text: str, headers: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    raw = await client.chat.completions.with_raw_response.create(
        model="cached-model", messages=ask(text), extra_headers=headers
    )
    return json.loads(raw.text), dict(raw.headers)


async def test_the_same_request_twice_is_served_once(
    gateway: Gateway, base_url: str, one: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = one
    client = llm(base_url, tenant)
    first, _ = await call(client, "what is a cache", ON)
    second, headers = await call(client, "what is a cache", ON)
    assert len(stub.requests) == 1
    assert first["agentsuite"]["cached"] is False
    assert first["agentsuite"]["cost_micros"] > 0
    assert second["agentsuite"]["cached"] is True
    assert second["agentsuite"]["cost_micros"] == 0
    assert headers["x-agentsuite-cached"] == "true"
    assert second["choices"] == first["choices"]
    assert second["model"] == "cached-model"

    # without the header the cache is neither read nor written
    await call(client, "what is a cache", {})
    assert len(stub.requests) == 2
    # a different request is a different entry
    await call(client, "what is a cache?", ON)
    assert len(stub.requests) == 3

    # a stream of the same request replays the stored answer
    stream = await client.chat.completions.create(
        model="cached-model", messages=ask("what is a cache"), stream=True, extra_headers=ON
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == first["choices"][0]["message"]["content"]
    assert len(stub.requests) == 3

    await gateway.deps.recorder.flush()
    r = await gateway.client.get(
        "/v1/traces",
        params={"request_id": second["agentsuite"]["request_id"]},
        headers=auth(tenant),
    )
    [trace] = r.json()["items"]
    assert (trace["cached"], trace["cost_micros"], trace["total_tokens"]) == (True, 0, 0)


async def test_a_runs_cache_is_its_own(
    gateway: Gateway, base_url: str, one: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = one
    client = llm(base_url, tenant)
    run_a = {**ON, "X-Agentsuite-Run-Id": f"run-a-{uuid.uuid4().hex[:6]}"}
    run_b = {**ON, "X-Agentsuite-Run-Id": f"run-b-{uuid.uuid4().hex[:6]}"}
    stored, _ = await call(client, "plan the next step", run_a)
    replayed, _ = await call(client, "plan the next step", run_a)
    assert replayed["agentsuite"]["cached"] is True
    assert replayed["agentsuite"]["run_id"] == run_a["X-Agentsuite-Run-Id"]
    assert len(stub.requests) == 1
    other, _ = await call(client, "plan the next step", run_b)
    assert other["agentsuite"]["cached"] is False
    runless, _ = await call(client, "plan the next step", ON)
    assert runless["agentsuite"]["cached"] is False
    assert len(stub.requests) == 3
    assert stored["agentsuite"]["cost_micros"] > 0


async def test_a_resumed_run_replays_without_paying_even_with_its_budget_spent(
    gateway: Gateway, base_url: str, one: tuple[uuid.UUID, Stub]
) -> None:
    tenant, stub = one
    client = llm(base_url, tenant)
    text = "summarise the findings"
    per_call = prompt_upper_bound(ask(text)) + 50
    await budget(gateway, tenant, scope="tenant", period="month", limit_tokens=per_call)
    usage = {"prompt_tokens": prompt_upper_bound(ask(text)), "completion_tokens": 50}
    stub.script(Reply("the findings, summarised", usage=usage))
    run = {**ON, "X-Agentsuite-Run-Id": f"run-{uuid.uuid4().hex[:6]}"}

    async def once() -> dict[str, Any]:
        raw = await client.chat.completions.with_raw_response.create(
            model="cached-model", messages=ask(text), max_tokens=50, extra_headers=run
        )
        return dict(json.loads(raw.text))

    first = await once()
    await gateway.deps.recorder.flush()
    # the budget is spent: a new question is refused...
    with pytest.raises(openai.APIStatusError) as refused:
        await client.chat.completions.create(
            model="cached-model", messages=ask("another question"), max_tokens=50
        )
    assert refused.value.status_code == 402
    # ...but the run's earlier answer replays, free
    again = await once()
    assert again["agentsuite"]["cached"] is True
    assert again["choices"][0]["message"]["content"] == first["choices"][0]["message"]["content"]
    assert len(stub.requests) == 1


async def test_the_body_member_asks_for_the_cache_too_and_a_hit_is_a_free_usage_event(
    gateway: Gateway, base_url: str, one: tuple[uuid.UUID, Stub]
) -> None:
    """`agentsuite: {cache, run_id}` in the body (the clients' extra_body) is the same as
    the headers; the replayed call is still reported, as cached and free, with its run."""
    tenant, stub = one
    client = llm(base_url, tenant)
    run = f"run-{uuid.uuid4().hex[:6]}"
    ids = []
    for _ in range(2):
        raw = await client.chat.completions.with_raw_response.create(
            model="cached-model",
            messages=ask("body member"),
            extra_body={"agentsuite": {"cache": True, "run_id": run}},
        )
        ids.append(json.loads(raw.text)["agentsuite"]["request_id"])
    assert len(stub.requests) == 1
    assert "agentsuite" not in stub.requests[0].body  # a gateway member never goes upstream
    await gateway.deps.recorder.flush()
    rows = await gateway.owner_sql(
        "SELECT value FROM outbox WHERE tenant_id = :t AND type = 'llm.usage.recorded' ORDER BY id",
        t=tenant,
    )
    events = [json.loads(v)["payload"] for (v,) in rows]
    assert [e["request_id"] for e in events] == ids
    assert [e["cached"] for e in events] == [False, True]
    assert [e["run_id"] for e in events] == [run, run]
    assert events[0]["usage"]["cost"]["amount_micros"] > 0
    assert events[1]["usage"]["cost"]["amount_micros"] == 0


async def test_a_stream_replayed_from_the_cache_is_traced_as_a_stream(
    gateway: Gateway, base_url: str, one: tuple[uuid.UUID, Stub]
) -> None:
    tenant, _ = one
    client = llm(base_url, tenant)
    await call(client, "replay me", ON)
    request_id = str(uuid.uuid4())
    stream = await client.chat.completions.create(
        model="cached-model",
        messages=ask("replay me"),
        stream=True,
        extra_headers={**ON, "X-Request-Id": request_id},
    )
    async for _ in stream:
        pass
    await gateway.deps.recorder.flush()
    r = await gateway.client.get(
        "/v1/traces", params={"request_id": request_id}, headers=auth(tenant)
    )
    [trace] = r.json()["items"]
    assert trace["cached"] is True
    assert trace["stream"] is True
