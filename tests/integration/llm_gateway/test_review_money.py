"""Adversarial review (H11): paths where spend could pass a budget's limit, or where a
reservation is never settled. The reservation is the budget's only guard: whatever the
provider may bill must fit inside it, and every reservation must end (spent or released)
with the call, not 15 minutes later at its full estimate."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

from agentsuite_llm_gateway.domain.budgets import prompt_upper_bound
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.gateway import Options
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.setup import budget, model, provider
from tests.integration.llm_gateway.stub import Hang, Reply, stub_upstream

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
PROMPT = prompt_upper_bound(MESSAGES)  # what the gateway reserves for the input
INVOKE = ["llm:invoke"]
OUTPUT_CAPS = ("max_tokens", "max_completion_tokens")


async def state(gateway: Gateway, tenant: UUID, budget_id: str) -> dict[str, Any]:
    await gateway.deps.recorder.flush()
    r = await gateway.client.get(f"/v1/budgets/{budget_id}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def tenant_budget(gateway: Gateway, tenant: UUID, limit_tokens: int) -> str:
    return await budget(
        gateway,
        tenant,
        scope="tenant",
        scope_id=str(tenant),
        period="day",
        limit_tokens=limit_tokens,
        on_exhaust="reject",
    )


async def test_n_choices_cannot_multiply_spend_past_the_reservation(gateway: Gateway) -> None:
    """`n: 5` makes the provider write (and bill) five answers of up to max_tokens each,
    but the reservation counts one."""
    tenant = uuid.uuid4()
    limit = PROMPT + 20 + 5  # room for one answer of 20 tokens
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "m", price=("1", "1"))
        bid = await tenant_budget(gateway, tenant, limit)
        # what an upstream honouring n and max_tokens bills: 5 x 20 output tokens
        stub.script(Reply("word " * 20, usage={"prompt_tokens": 2, "completion_tokens": 100}))
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": MESSAGES, "max_tokens": 20, "n": 5},
            headers=auth(tenant, INVOKE),
        )
        after = await state(gateway, tenant, bid)
    assert r.status_code == 402 or after["spent_tokens"] <= limit, (r.status_code, after)


async def test_a_max_tokens_above_the_models_cap_is_not_sent_upstream(gateway: Gateway) -> None:
    """The reservation covers the model's max_output (50); the client's max_tokens (1000)
    went upstream unchanged, so the provider may write 20x what was reserved."""
    tenant = uuid.uuid4()
    limit = PROMPT + 50 + 5
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "capped", price=("1", "1"), max_output=50)
        bid = await tenant_budget(gateway, tenant, limit)
        stub.script(Reply("long", usage={"prompt_tokens": 2, "completion_tokens": 1000}))
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={"model": "capped", "messages": MESSAGES, "max_tokens": 1000},
            headers=auth(tenant, INVOKE),
        )
        after = await state(gateway, tenant, bid)
        sent = stub.requests[0].body if stub.requests else {}
    assert r.status_code in (200, 402), r.text
    for cap in OUTPUT_CAPS:
        assert sent.get(cap) is None or sent[cap] <= 50, (cap, sent.get(cap))
    assert after["spent_tokens"] <= limit, after


async def test_both_output_caps_are_bounded_not_only_the_one_read(gateway: Gateway) -> None:
    """max_completion_tokens (10) is what the gateway reserves for; max_tokens (5000)
    goes upstream too, and servers that read max_tokens (many OpenAI-compatible ones)
    write up to 5000."""
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "m", price=("1", "1"))
        await tenant_budget(gateway, tenant, PROMPT + 10 + 5)
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={
                "model": "m",
                "messages": MESSAGES,
                "max_completion_tokens": 10,
                "max_tokens": 5000,
            },
            headers=auth(tenant, INVOKE),
        )
        sent = stub.requests[0].body if stub.requests else {}
    assert r.status_code in (200, 400, 402), r.text
    for cap in OUTPUT_CAPS:
        assert sent.get(cap) is None or sent[cap] <= 10, (cap, sent.get(cap))


async def test_embeddings_do_not_reserve_phantom_output(gateway: Gateway) -> None:
    """An embedding has no output, but the reservation adds the model's default output
    (4096 tokens): a budget with plenty left for the input refuses the call."""
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "embed", price=("1", "0"), capabilities=["embeddings"])
        bid = await tenant_budget(gateway, tenant, 1000)
        r = await gateway.client.post(
            "/v1/embeddings",
            json={"model": "embed", "input": "a short sentence"},
            headers=auth(tenant, INVOKE),
        )
        after = await state(gateway, tenant, bid)
    assert r.status_code == 200, r.text
    assert after["reserved_tokens"] == 0


async def test_a_stream_cut_by_the_client_mid_way_is_traced_and_settled(
    gateway: Gateway,
) -> None:
    """Guard (holds today): the relay's `finally` records and settles a stream the client
    leaves after the first chunk."""
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "m", price=("1", "1"))
        bid = await tenant_budget(gateway, tenant, 100_000)
        request_id = uuid.uuid4()
        stub.script(Reply("one two three four five six"))
        body = {"model": "m", "messages": MESSAGES, "max_tokens": 20, "stream": True}
        chunks = await gateway.deps.gateway.stream(
            Caller(tenant_id=tenant), body, Options(request_id=request_id)
        )
        assert isinstance(chunks, AsyncGenerator)
        first = await chunks.__anext__()
        assert first.startswith(b"data: ")
        await chunks.aclose()
        after = await state(gateway, tenant, bid)
    traced = await gateway.owner_sql(
        "SELECT status, error_code FROM calls WHERE request_id = :r", r=request_id
    )
    assert [tuple(row) for row in traced] == [("error", "client_closed")]
    assert after["reserved_tokens"] == 0, after
    assert after["spent_tokens"] > 0


async def test_a_cancelled_call_is_traced_and_settled(
    gateway: Gateway,
) -> None:
    """`Gateway.chat` cancelled while the upstream works (what `RequestWorker.aclose` does
    to every Kafka call in flight at shutdown, and any server that cancels a handler on
    disconnect): only GatewayError is caught, so the call leaves no trace and no usage
    event, and its reservation waits for the expiry job to charge the full estimate."""
    tenant = uuid.uuid4()
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "m", price=("1", "1"))
        bid = await tenant_budget(gateway, tenant, 100_000)
        request_id = uuid.uuid4()
        stub.script(Hang(5.0))
        body = {"model": "m", "messages": MESSAGES, "max_tokens": 20}
        task = asyncio.create_task(
            gateway.deps.gateway.chat(Caller(tenant_id=tenant), body, Options(request_id))
        )
        for _ in range(100):
            if stub.requests:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        after = await state(gateway, tenant, bid)
    traced = await gateway.owner_sql("SELECT status FROM calls WHERE request_id = :r", r=request_id)
    assert traced, "no trace for the abandoned call"
    assert after["reserved_tokens"] == 0, after


async def test_an_oversized_run_id_cannot_make_a_call_vanish_from_usage(gateway: Gateway) -> None:
    """`agentsuite.run_id` is unbounded (the body may be 4 MB) and goes into the
    `llm.usage.v1` event's run_id and labels: past the 1 MB event limit `emit` raises, the
    recorder takes the trace for poison and drops it. The call is then in no trace, no
    usage row and no usage event (execution's per-run budget never hears of it)."""
    tenant = uuid.uuid4()
    request_id = uuid.uuid4()
    r = await gateway.client.post(
        "/v1/chat/completions",
        json={
            "model": "local-echo",
            "messages": MESSAGES,
            "agentsuite": {"run_id": "r" * 1_200_000},
        },
        headers={**auth(tenant, INVOKE), "X-Request-Id": str(request_id)},
    )
    if r.status_code == 400:
        assert r.json()["error"]["param"] == "run_id", r.text
        return
    assert r.status_code == 200, r.text
    for _ in range(4):  # the recorder's poison handling tries a trace alone 3 times
        with contextlib.suppress(Exception):
            await gateway.deps.recorder.flush()
    traced = await gateway.owner_sql("SELECT status FROM calls WHERE request_id = :r", r=request_id)
    assert traced, "the call left no trace"


async def test_input_outside_messages_and_tools_is_reserved_too(gateway: Gateway) -> None:
    """A structured-output schema (`response_format`) and legacy `functions` are sent to the
    model as input and billed as prompt tokens, but the reservation only counts messages
    and tools: 40 KB of schema is ~10k billed tokens on a reservation of ~150."""
    tenant = uuid.uuid4()
    limit = PROMPT + 20 + 100
    schema = {
        "type": "object",
        "description": "x " * 20_000,
        "properties": {"a": {"type": "string"}},
    }
    async with stub_upstream() as stub:
        pid = await provider(gateway, tenant, "p", stub.url)
        await model(gateway, tenant, pid, "m", price=("1", "1"))
        bid = await tenant_budget(gateway, tenant, limit)
        # what a provider bills for that prompt: about one token per 4 bytes of it
        stub.script(Reply("{}", usage={"prompt_tokens": 10_000, "completion_tokens": 2}))
        r = await gateway.client.post(
            "/v1/chat/completions",
            json={
                "model": "m",
                "messages": MESSAGES,
                "max_tokens": 20,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "big", "schema": schema},
                },
            },
            headers=auth(tenant, INVOKE),
        )
        after = await state(gateway, tenant, bid)
    assert r.status_code == 402 or after["spent_tokens"] <= limit, (r.status_code, after)
