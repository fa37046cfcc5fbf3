"""The response cache on PostgreSQL: hits, scopes, TTL, purge; and end to end through Kafka,
a second identical request answered from the cache without an upstream call."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from agentsuite_llm_gateway.cache import ResponseCache, purge
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.requests_support import (
    Upstream,
    ask,
    count_upstream,
    envelope,
    publish,
    replies,
)

BODY = {"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "hi"}}]}


def fresh(gateway: Gateway) -> ResponseCache:
    """A cache with its own (empty) memory over the gateway's database."""
    return ResponseCache(gateway.settings, gateway.deps.uow)


async def test_put_then_get_counts_hits(gateway: Gateway) -> None:
    tenant = uuid4()
    key = ResponseCache.key("local-echo", None, {"messages": [{"role": "user", "content": "a"}]})
    cache = fresh(gateway)
    assert await cache.get(tenant, key, "") is None
    await cache.put(tenant, key, "", "local-echo", BODY, 60)
    assert await fresh(gateway).get(tenant, key, "") == BODY  # from the database
    assert await cache.get(tenant, key, "") == BODY  # from memory
    assert await cache.get(tenant, key, "") == BODY
    await cache.put(tenant, ResponseCache.key("x", None, {}), "", "x", BODY, 60)  # saves hits
    rows = await gateway.owner_sql(
        "SELECT hits FROM cache_entries WHERE tenant_id = :t AND key = :k", t=tenant, k=key
    )
    assert [r[0] for r in rows] == [3]


async def test_scope_and_tenant_isolate_entries(gateway: Gateway) -> None:
    tenant, other = uuid4(), uuid4()
    key = ResponseCache.key("local-echo", None, {"messages": [{"role": "user", "content": "b"}]})
    cache = fresh(gateway)
    await cache.put(tenant, key, "run-1", "local-echo", BODY, 60)
    assert await fresh(gateway).get(tenant, key, "run-1") == BODY
    assert await fresh(gateway).get(tenant, key, "run-2") is None
    assert await fresh(gateway).get(tenant, key, "") is None
    assert await fresh(gateway).get(other, key, "run-1") is None


async def test_ttl_expiry_and_purge(gateway: Gateway) -> None:
    tenant = uuid4()
    key = ResponseCache.key("local-echo", None, {"messages": [{"role": "user", "content": "c"}]})
    cache = fresh(gateway)
    await cache.put(tenant, key, "", "local-echo", BODY, 0.5)
    assert await cache.get(tenant, key, "") == BODY
    await asyncio.sleep(0.8)
    assert await cache.get(tenant, key, "") is None  # memory honours the expiry too
    assert await fresh(gateway).get(tenant, key, "") is None
    assert await purge(gateway.deps.uow) >= 1
    rows = await gateway.owner_sql(
        "SELECT count(*) FROM cache_entries WHERE tenant_id = :t", t=tenant
    )
    assert rows[0][0] == 0
    # a replaced entry lives again
    await cache.put(tenant, key, "", "local-echo", {**BODY, "id": "2"}, 60)
    assert await fresh(gateway).get(tenant, key, "") == {**BODY, "id": "2"}


@pytest.fixture
def upstream(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    return count_upstream(gateway.deps, monkeypatch)


async def test_second_identical_request_is_served_from_cache(
    gateway: Gateway, upstream: Upstream
) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    tenant = uuid4()
    text = f"cache me {uuid4()}"
    first, second = ask(text, cache=True), ask(text, cache=True)
    await publish(kafka, [(str(first.request_id).encode(), envelope(tenant, first))])
    [a] = await replies(kafka, first.request_id, 1)
    await publish(kafka, [(str(second.request_id).encode(), envelope(tenant, second))])
    [b] = await replies(kafka, second.request_id, 1)
    assert a.payload.status == b.payload.status == "ok"
    assert (a.payload.cached, b.payload.cached) == (False, True)
    assert a.payload.message == b.payload.message
    assert upstream.calls[text] == 1
    # cache=False asks again
    third = ask(text, cache=False)
    await publish(kafka, [(str(third.request_id).encode(), envelope(tenant, third))])
    [c] = await replies(kafka, third.request_id, 1)
    assert c.payload.cached is False
    assert upstream.calls[text] == 2


async def test_a_resumed_run_replays_its_own_answers_only(
    gateway: Gateway, upstream: Upstream
) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    tenant = uuid4()
    text = f"run step {uuid4()}"
    earlier = ask(text, cache=True, run_id="run-a")
    resumed = ask(text, cache=True, labels={"execution_id": "run-a"})
    another = ask(text, cache=True, run_id="run-b")
    for request in (earlier, resumed, another):
        await publish(kafka, [(str(request.request_id).encode(), envelope(tenant, request))])
        await replies(kafka, request.request_id, 1)
    [r] = await replies(kafka, resumed.request_id, 1)
    [o] = await replies(kafka, another.request_id, 1)
    assert r.payload.cached is True
    assert r.payload.run_id == "run-a"
    assert o.payload.cached is False
    assert upstream.calls[text] == 2
