"""Text PostgreSQL cannot hold at the gateway: in a chat request it is refused (400, the
OpenAI error naming the member) before any upstream call, so nothing is billed or traced
"ok"; in an upstream answer it is delivered over HTTP but not cached, and over Kafka it is
answered escaped (it used to fail the cache's or the request record's INSERT after the
call was made and billed: a 500, or no answer at all)."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import httpx
from aiokafka import AIOKafkaConsumer

from agentsuite_contracts.deadletter import DeadLetter
from tests.integration.hostile_support import oversize, sweep
from tests.integration.llm_gateway.e2e_support import duo, trace_of, traces
from tests.integration.llm_gateway.harness import Gateway, auth
from tests.integration.llm_gateway.requests_support import ask, envelope, publish, replies
from tests.integration.llm_gateway.stub import Fail, Reply

CACHED = {"X-Agentsuite-Cache": "on", "content-type": "application/json"}


async def chat(gateway: Gateway, tenant: object, content: str, **headers: str) -> httpx.Response:
    body = {"model": "duo", "messages": [{"role": "user", "content": content}]}
    return await gateway.client.post(
        "/v1/chat/completions",
        content=json.dumps(body),  # ASCII JSON: `\u0000` as a client sends it
        headers={**auth(tenant), **CACHED, **headers},  # type: ignore[arg-type]
    )


async def test_a_nul_in_a_cached_chat_is_refused_before_the_upstream_call(
    gateway: Gateway,
) -> None:
    async with duo(gateway, price_a=("1", "1"), price_b=("1", "1")) as (tenant, first, second, _):
        reply = await chat(gateway, tenant, "a\u0000b")
        assert reply.status_code == 400, reply.text
        assert reply.headers["content-type"].startswith("application/problem+json")
        error = reply.json()["error"]
        assert error["param"] == "messages[0].content", error
        assert "NUL" in error["message"]
        assert first.requests == second.requests == []
        assert [t for t in await traces(gateway, tenant) if t["status"] == "ok"] == []
        assert (await chat(gateway, tenant, "fine")).status_code == 200  # still serving


async def test_an_upstream_answer_with_a_nul_is_delivered_and_not_cached(
    gateway: Gateway,
) -> None:
    async with duo(gateway) as (tenant, first, _second, _):
        first.script(Reply(text="a\u0000b"), Reply(text="a\u0000b"))
        text = f"answer with a nul {uuid4()}"
        for _ in range(2):
            reply = await chat(gateway, tenant, text)
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"] == "a\u0000b"
            assert reply.headers["x-agentsuite-cached"] == "false"
        assert len(first.requests) == 2


async def test_an_upstream_answer_with_a_nul_is_answered_escaped_over_kafka(
    gateway: Gateway,
) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    async with duo(gateway) as (tenant, first, _second, _):
        first.script(Reply(text="a\u0000b"))
        request = ask(f"nul over kafka {uuid4()}", model="duo", cache=True)
        await publish(kafka, [(str(request.request_id).encode(), envelope(tenant, request))])
        [answer] = await replies(kafka, request.request_id, 1)
        assert answer.payload.status == "ok", answer.payload
        assert answer.payload.message is not None
        assert answer.payload.message.content == "a\\u0000b"
        assert len(first.requests) == 1


async def test_every_body_route_refuses_unstorable_text_by_name(gateway: Gateway) -> None:
    tenant = uuid4()
    wrong = await sweep(gateway.app, gateway.client, auth(tenant))
    assert wrong == [], "\n".join(wrong)
    assert (await gateway.client.get("/v1/providers", headers=auth(tenant))).status_code == 200


async def test_every_body_route_refuses_a_body_over_the_limit(gateway: Gateway) -> None:
    """A body over `max_request_bytes` is a 413 on every route before it is parsed: the
    OpenAI routes in OpenAI's shape, the management routes (which had no limit) as problems."""
    tenant = uuid4()
    limit = gateway.settings.max_request_bytes
    wrong = await oversize(gateway.app, gateway.client, auth(tenant), limit)
    assert wrong == [], "\n".join(wrong)


async def test_an_upstream_error_with_a_nul_is_traced_escaped(gateway: Gateway) -> None:
    """The upstream's error text goes into the trace's attempts: kept escaped, the trace is
    written (it was dropped as poison after failing its INSERT again and again)."""
    async with duo(gateway) as (tenant, first, second, _):
        refusal = {"error": {"message": "bad\u0000thing", "type": "invalid_request_error"}}
        first.script(Fail(400, body=refusal))
        request_id = str(uuid4())
        reply = await chat(gateway, tenant, "refused", **{"X-Request-Id": request_id})
        assert reply.status_code == 400, reply.text
        assert second.requests == []
        trace = await trace_of(gateway, tenant, request_id)
        assert trace["attempts"][0]["error"] == "bad\\u0000thing", trace


async def test_a_kafka_request_with_a_nul_is_dead_lettered_uncalled(gateway: Gateway) -> None:
    """A request whose messages PostgreSQL cannot hold is dead-lettered as invalid before
    any upstream call (it was called and billed, then its answer failed to be stored)."""
    kafka = gateway.settings.kafka_bootstrap_servers
    async with duo(gateway) as (tenant, first, second, _):
        request = ask("a\u0000b", model="duo")
        await publish(kafka, [(str(request.request_id).encode(), envelope(tenant, request))])
        letter = await dead_letter(kafka, "llm-gateway.requests.dlq", str(request.request_id))
        assert letter.reason == "invalid"
        assert "payload.messages[0].content" in letter.error
        assert first.requests == second.requests == []


async def dead_letter(kafka: str, topic: str, key: str, within: float = 30.0) -> DeadLetter:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for r in records:
                    if r.key == key.encode():
                        return DeadLetter.from_headers({k: v.decode() for k, v in r.headers})
    finally:
        await consumer.stop()
    raise AssertionError(f"no dead letter for {key} on {topic}")
