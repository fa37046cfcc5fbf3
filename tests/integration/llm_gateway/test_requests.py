"""Kafka request/reply through the real broker and the real pipeline (`local-echo`): one
answer per request id on the topic the command names, never two upstream calls for one id,
redeliveries answered from the record, stale claims answered "interrupted", poison to DLQ."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from agentsuite_contracts.deadletter import dead_letter_topic
from agentsuite_contracts.envelope import Actor
from agentsuite_contracts.llm import LlmErrorCode
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1, LLM_RESPONSES_V1, reply_topic
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.messaging.consumer import Outcome
from agentsuite_llm_gateway.handlers.requests import INTERRUPTED, worker
from tests.integration.kafka_helpers import eventually, read_all
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.requests_support import (
    Upstream,
    ask,
    count_upstream,
    envelope,
    publish,
    replies,
)


@pytest.fixture
def upstream(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    return count_upstream(gateway.deps, monkeypatch)


async def test_request_is_answered_on_the_reply_topic(gateway: Gateway, upstream: Upstream) -> None:
    tenant, user = uuid4(), uuid4()
    text = f"hello {uuid4()}"
    request = ask(text, run_id="run-1", labels={"step": "s1"})
    actor = Actor(kind="user", id=str(user))
    await publish(
        gateway.settings.kafka_bootstrap_servers,
        [(str(request.request_id).encode(), envelope(tenant, request, actor))],
    )
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request.request_id, 1)
    reply = answer.payload
    assert answer.tenant_id == tenant
    assert reply.status == "ok", reply.error
    assert (reply.requester, reply.run_id, reply.model) == ("tests", "run-1", "local-echo")
    assert reply.message is not None
    assert text in (reply.message.content or "")
    assert reply.usage is not None
    assert reply.usage.total_tokens > 0
    assert upstream.calls[text] == 1
    rows = await gateway.owner_sql(
        "SELECT status, tenant_id, requester FROM requests WHERE request_id = :id",
        id=request.request_id,
    )
    assert [tuple(r) for r in rows] == [("done", tenant, "tests")]


async def test_redeliveries_call_upstream_once_and_answer_identically(
    gateway: Gateway, upstream: Upstream
) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    tenant = uuid4()
    text = f"once {uuid4()}"
    request = ask(text)
    key = str(request.request_id).encode()
    entered, release = upstream.hold(text)
    consumer = gateway.deps.runtime.groups[0].consumer
    applied = consumer.counts[Outcome.APPLIED]
    duplicates = consumer.counts[Outcome.DUPLICATE]
    first = envelope(tenant, request)
    # the same envelope three times: the inbox drops the copies
    await publish(kafka, [(key, first)] * 3)
    await asyncio.wait_for(entered.wait(), 30)
    # a new envelope, same request id, while the call runs: nothing (it is in flight)
    await publish(kafka, [(key, envelope(tenant, request))])

    async def handled() -> bool:
        return (
            consumer.counts[Outcome.APPLIED] >= applied + 2
            and consumer.counts[Outcome.DUPLICATE] >= duplicates + 2
        )

    await eventually(handled)
    release.set()
    [answer] = await replies(kafka, request.request_id, 1)
    # two more new envelopes after the answer: each answered from the record
    await publish(kafka, [(key, envelope(tenant, request)), (key, envelope(tenant, request))])
    answers = await replies(kafka, request.request_id, 3)
    assert len(answers) == 3
    assert {a.payload.model_dump_json() for a in answers} == {answer.payload.model_dump_json()}
    await worker(gateway.deps).idle()
    assert upstream.calls[text] == 1
    # and no fourth answer is on its way
    assert len(await replies(kafka, request.request_id, 4, within=3.0)) == 3


async def test_past_deadline_is_answered_without_a_call(
    gateway: Gateway, upstream: Upstream
) -> None:
    text = f"late {uuid4()}"
    request = ask(text, deadline=datetime.now(UTC) - timedelta(seconds=1))
    await publish(
        gateway.settings.kafka_bootstrap_servers,
        [(str(request.request_id).encode(), envelope(uuid4(), request))],
    )
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request.request_id, 1)
    assert answer.payload.status == "error"
    assert answer.payload.error is not None
    assert answer.payload.error.code == LlmErrorCode.DEADLINE_EXCEEDED
    assert upstream.calls[text] == 0


async def test_gateway_refusal_becomes_an_error_answer(
    gateway: Gateway, upstream: Upstream
) -> None:
    request = ask("x", model=f"no-such-model-{uuid4()}")
    await publish(
        gateway.settings.kafka_bootstrap_servers,
        [(str(request.request_id).encode(), envelope(uuid4(), request))],
    )
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request.request_id, 1)
    assert answer.payload.status == "error"
    assert answer.payload.error is not None
    assert answer.payload.error.code in (LlmErrorCode.INVALID_REQUEST, LlmErrorCode.NO_ROUTE)
    assert answer.payload.error.retryable is False


async def _stale_row(gateway: Gateway, tenant: Any, request_id: Any, reply_to: str) -> None:
    await gateway.owner_sql(
        "INSERT INTO requests (request_id, tenant_id, requester, reply_to, status, created_at) "
        "VALUES (:id, :t, 'tests', :r, 'pending', now() - interval '2 hours')",
        id=request_id,
        t=tenant,
        r=reply_to,
    )


async def test_stale_claim_is_answered_interrupted_on_redelivery(
    gateway: Gateway, upstream: Upstream
) -> None:
    tenant = uuid4()
    text = f"stale {uuid4()}"
    request = ask(text)
    await _stale_row(gateway, tenant, request.request_id, LLM_RESPONSES_V1)
    await publish(
        gateway.settings.kafka_bootstrap_servers,
        [(str(request.request_id).encode(), envelope(tenant, request))],
    )
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request.request_id, 1)
    assert answer.payload.error is not None
    assert answer.payload.error.code == LlmErrorCode.INTERRUPTED
    assert answer.payload.error.retryable is True
    assert answer.payload.error.message == INTERRUPTED
    assert upstream.calls[text] == 0


async def test_sweep_answers_claims_a_crash_left_behind(gateway: Gateway) -> None:
    tenant = uuid4()
    request_id = uuid4()
    await _stale_row(gateway, tenant, request_id, LLM_RESPONSES_V1)
    assert await worker(gateway.deps).sweep() >= 1
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request_id, 1)
    assert answer.tenant_id == tenant
    assert answer.payload.error is not None
    assert answer.payload.error.message == INTERRUPTED
    rows = await gateway.owner_sql(
        "SELECT status FROM requests WHERE request_id = :id", id=request_id
    )
    assert [r[0] for r in rows] == ["done"]
    # a second sweep finds nothing of it: one answer per request
    await worker(gateway.deps).sweep()
    assert (
        len(await replies(gateway.settings.kafka_bootstrap_servers, request_id, 2, within=3.0)) == 1
    )


async def test_reply_goes_to_the_shared_or_the_requesters_own_topic_only(
    gateway: Gateway,
) -> None:
    # a request names where its answer goes: the shared topic or its requester's registered
    # reply topic; anything else (another contract, another requester's answers, a topic
    # the broker merely knows) would let any producer of requests write there
    kafka = gateway.settings.kafka_bootstrap_servers
    private = f"tests.llm-replies.{secrets.token_hex(4)}"
    await ensure_topics(kafka, [(private, 1)])
    mine = ask("to me", requester="discovery", reply_to=reply_topic("discovery"))
    shared = ask("to all", requester="discovery")
    theirs = ask("to execution", requester="discovery", reply_to=reply_topic("execution"))
    hijack = ask("to them", requester="discovery", reply_to=IDENTITY_TENANTS_V1)
    unregistered = ask("to a private one", requester="discovery", reply_to=private)
    tenant = uuid4()
    asked = [mine, shared, theirs, hijack, unregistered]
    await publish(kafka, [(str(r.request_id).encode(), envelope(tenant, r)) for r in asked])
    [answer] = await replies(kafka, mine.request_id, 1, topic=reply_topic("discovery"))
    assert answer.payload.status == "ok"
    on_shared = {r.reply_to: await replies(kafka, r.request_id, 1) for r in asked[1:]}
    assert {to: [(a.payload.status, a.payload.requester) for a in got]
            for to, got in on_shared.items()} == {
        r.reply_to: [("ok", "discovery")] for r in asked[1:]
    }  # fmt: skip
    # each was answered once, on the shared topic: nothing went where they asked
    assert (
        await replies(kafka, theirs.request_id, 1, topic=reply_topic("execution"), within=2) == []
    )
    assert await replies(kafka, unregistered.request_id, 1, topic=private, within=2) == []


async def test_a_request_id_of_another_tenant_is_refused_on_the_requesters_topic(
    gateway: Gateway,
) -> None:
    # the refusal goes where the request may be answered, like any answer: a requester
    # reading only its own reply topic hears of it too
    kafka = gateway.settings.kafka_bootstrap_servers
    first = ask("first", requester="discovery", reply_to=reply_topic("discovery"))
    key = str(first.request_id).encode()
    await publish(kafka, [(key, envelope(uuid4(), first))])
    [done] = await replies(kafka, first.request_id, 1, topic=reply_topic("discovery"))
    assert done.payload.status == "ok"
    other_tenant = uuid4()
    await publish(kafka, [(key, envelope(other_tenant, first))])
    answers = await replies(kafka, first.request_id, 2, topic=reply_topic("discovery"))
    assert [(a.tenant_id, a.payload.status) for a in answers][1:] == [(other_tenant, "error")]
    assert answers[1].payload.error is not None
    assert answers[1].payload.error.message == "request_id in use"


async def test_poison_goes_to_the_dead_letter_topic(gateway: Gateway) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    key = f"poison-{uuid4()}".encode()
    await publish(kafka, [(key, b"{not json")])
    dlq = dead_letter_topic("llm-gateway.requests")

    async def buried() -> bool:
        records = await read_all(kafka, dlq, expect=10_000, within=2.0)
        return any(r.key == key for r in records)

    await eventually(buried, within=30.0)


async def test_missing_messages_are_dead_lettered_not_answered(gateway: Gateway) -> None:
    kafka = gateway.settings.kafka_bootstrap_servers
    request = ask("x")
    raw = envelope(uuid4(), request).replace(b'"messages":[', b'"messages":[],"was":[', 1)
    key = str(request.request_id).encode()
    await publish(kafka, [(key, raw)])
    dlq = dead_letter_topic("llm-gateway.requests")

    async def buried() -> bool:
        records = await read_all(kafka, dlq, expect=10_000, within=2.0)
        return any(r.key == key for r in records)

    await eventually(buried, within=30.0)
    assert await replies(kafka, request.request_id, 1, within=2.0) == []
