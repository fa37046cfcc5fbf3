"""Reply topics: two requesters of one sample service (discovery's and planning's LLM
clients, each its own consumer group, real PostgreSQL and broker) send requests naming
their own reply topic; the test plays llm-gateway and answers each there. Each consumer
reads only its own topic and applies only its own answers; an answer on the shared
`llm.responses.v1` (a request sent before the reply topics) is still applied, once, by the
requester it names.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import ChatMessage, LlmRequest, LlmResponse, Role
from agentsuite_contracts.registry import TOPICS, subject_of
from agentsuite_contracts.topic_names import (
    LLM_REQUESTS_V1,
    LLM_RESPONSES_V1,
    REPLY_TOPICS,
    reply_topic,
)
from agentsuite_kit.llm import LlmClient, Replies
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.runtime import Runtime
from tests.integration.conftest import SampleDb
from tests.integration.kafka_helpers import eventually
from tests.integration.kafka_helpers import send as deliver
from tests.integration.sample.repositories import llm_calls
from tests.integration.sample.settings import SampleSettings
from tests.integration.sample.uow import SampleUow

REQUESTERS = ("discovery", "planning")


@dataclass
class Requesters:
    runtime: Runtime[SampleUow]
    clients: dict[str, LlmClient[SampleUow]]
    kafka: str
    applied: list[tuple[str, UUID]] = field(default_factory=list)

    def group(self, requester: str) -> str:
        return f"sample.{self.clients[requester].name}"


@pytest.fixture(scope="module")
async def two(sample_db: SampleDb, kafka_bootstrap: str) -> AsyncIterator[Requesters]:
    wanted = {LLM_REQUESTS_V1, LLM_RESPONSES_V1, *REPLY_TOPICS.values()}
    await ensure_topics(
        kafka_bootstrap, [(t.name, t.partitions) for t in TOPICS if t.name in wanted]
    )
    token = secrets.token_hex(4)
    clients = {
        r: LlmClient[SampleUow](r, llm_calls, name=f"answers-{r}-{token}") for r in REQUESTERS
    }
    settings = SampleSettings(
        database_url=SecretStr(sample_db.app_url), kafka_bootstrap_servers=kafka_bootstrap
    )
    applied: list[tuple[str, UUID]] = []

    def replies(requester: str) -> Replies[SampleUow]:
        async def on_answer(uow: SampleUow, call: dict[str, Any], _r: LlmResponse, _h: Any) -> None:
            applied.append((requester, call["request_id"]))

        return Replies[SampleUow](on_answer=on_answer)

    # no relay: the requests stay in the outbox, so no gateway on the broker answers them
    runtime = Runtime[SampleUow](
        settings,
        uow=SampleUow,
        consumers=[c.consumer(replies(r)) for r, c in clients.items()],
        relay=False,
    )
    await runtime.start()
    try:
        yield Requesters(runtime, clients, kafka_bootstrap, applied)
    finally:
        await runtime.stop()


async def send(two: Requesters, requester: str, tenant: UUID) -> LlmRequest:
    request = LlmRequest(requester="anyone", messages=[ChatMessage(role=Role.USER, content="hi")])
    async with two.runtime.uow(tenant) as uow:
        sent = await two.clients[requester].send(uow, request)
        await uow.commit()
    return sent


def answer(sent: LlmRequest, tenant: UUID) -> Envelope[Any]:
    response = LlmResponse(
        request_id=sent.request_id,
        requester=sent.requester,
        status="ok",
        message=ChatMessage(role=Role.ASSISTANT, content="hello"),
        latency_ms=1,
    )
    return Envelope[Any](
        producer="llm-gateway",
        tenant_id=tenant,
        subject=subject_of(response),
        correlation_id=uuid4(),
        payload=response,
    )


async def seen_by(two: Requesters, requester: str, envelopes: list[Envelope[Any]]) -> set[UUID]:
    """Which of `envelopes` the requester's consumer group took (its inbox)."""
    async with two.runtime.uow(None, all_tenants=True) as uow:
        rows = await uow.session.scalars(
            text("SELECT event_id FROM inbox WHERE consumer = :g AND event_id = ANY(:ids)"),
            {"g": two.group(requester), "ids": [e.id for e in envelopes]},
        )
    return set(rows)


async def state(two: Requesters, requester: str, tenant: UUID, request_id: UUID) -> str:
    async with two.runtime.uow(tenant) as uow:
        call = await two.clients[requester].calls(uow).get(request_id)
    assert call is not None
    return str(call["state"])


async def test_each_requester_reads_and_applies_only_its_own_answers(two: Requesters) -> None:
    tenant = uuid4()
    sent = {r: await send(two, r, tenant) for r in REQUESTERS}
    assert {r: s.reply_to for r, s in sent.items()} == {r: reply_topic(r) for r in REQUESTERS}
    answers = {r: answer(s, tenant) for r, s in sent.items()}
    # planning's answer is put on discovery's topic too (a misdirected copy): discovery's
    # consumer takes it and applies nothing, it is not discovery's call
    stray = answers["planning"].model_copy(update={"id": uuid4()})
    for r in REQUESTERS:
        await deliver(two.kafka, reply_topic(r), [answers[r]])
    await deliver(two.kafka, reply_topic("discovery"), [stray])

    async def taken() -> bool:
        return await seen_by(two, "discovery", [answers["discovery"], stray]) == {
            answers["discovery"].id,
            stray.id,
        } and await seen_by(two, "planning", [answers["planning"]]) == {answers["planning"].id}

    await eventually(taken)
    # each group read its own topic only: neither took the other's answer off its topic
    assert await seen_by(two, "discovery", [answers["planning"]]) == set()
    assert await seen_by(two, "planning", [answers["discovery"], stray]) == set()
    mine = {(r, s.request_id) for r, s in sent.items()}
    assert sorted(a for a in two.applied if a in mine) == sorted(mine)
    for r, s in sent.items():
        assert await state(two, r, tenant, s.request_id) == "answered"


async def test_an_answer_on_the_shared_topic_applies_once_to_its_requester(
    two: Requesters,
) -> None:
    # a request sent before the reply topics named the shared topic; its answer comes there
    tenant = uuid4()
    sent = await send(two, "discovery", tenant)
    old = answer(sent, tenant)
    await deliver(two.kafka, LLM_RESPONSES_V1, [old])

    async def taken() -> bool:
        # both groups still read the shared topic: each takes it, only discovery applies it
        return [await seen_by(two, r, [old]) for r in REQUESTERS] == [{old.id}, {old.id}]

    await eventually(taken)
    assert [a for a in two.applied if a[1] == sent.request_id] == [("discovery", sent.request_id)]
    assert await state(two, "discovery", tenant, sent.request_id) == "answered"
