"""The kit's LLM client in a miniature service (the sample: real PostgreSQL, real broker,
the kit's runtime with its relay, consumer and job runner), the test playing llm-gateway:
it reads the requests off `llm.requests.v1` and answers on `llm.responses.v1`.

A request is answered; a repeated answer applies once; a lost answer is asked for again
after its wait and the late first answer does not apply twice; after its last wait the
call is given up (a `timeout` answer to the service) and a later answer is ignored; an
answer for another tenant's, an unknown or another requester's call applies nothing and
the consumer moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr, TypeAdapter
from sqlalchemy import func, select, text

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import ChatMessage, LlmRequest, LlmResponse, Role
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import LLM_REQUESTS_V1, LLM_RESPONSES_V1
from agentsuite_kit.llm import LlmClient, Replies
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.runtime import Runtime
from tests.integration.conftest import SampleDb
from tests.integration.kafka_helpers import eventually
from tests.integration.kafka_helpers import send as deliver
from tests.integration.sample.repositories import effects, llm_calls
from tests.integration.sample.settings import SampleSettings
from tests.integration.sample.uow import SampleUow

REQUESTS: TypeAdapter[Envelope[LlmRequest]] = TypeAdapter(Envelope[LlmRequest])


@dataclass
class Gateway:
    """The test's llm-gateway: every request of `requester` seen, by request id."""

    kafka: str
    requester: str
    seen: dict[UUID, list[Envelope[LlmRequest]]] = field(default_factory=dict)

    async def listen(self) -> None:
        consumer = AIOKafkaConsumer(
            LLM_REQUESTS_V1,
            bootstrap_servers=self.kafka,
            group_id=None,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for r in records:
                        if r.value is None or self.requester.encode() not in r.value:
                            continue
                        got = REQUESTS.validate_json(r.value)
                        self.seen.setdefault(got.payload.request_id, []).append(got)
        finally:
            await consumer.stop()

    async def sent(self, request_id: UUID, times: int) -> list[Envelope[LlmRequest]]:
        """The request's envelopes once it was sent `times` times."""

        async def arrived() -> bool:
            return len(self.seen.get(request_id, [])) >= times

        await eventually(arrived)
        return self.seen[request_id]


@dataclass
class Service:
    runtime: Runtime[SampleUow]
    client: LlmClient[SampleUow]
    gateway: Gateway
    answers: list[tuple[UUID, str, str | None]]

    @property
    def kafka(self) -> str:
        return self.gateway.kafka


@pytest.fixture(scope="module")
async def svc(sample_db: SampleDb, kafka_bootstrap: str) -> AsyncIterator[Service]:
    await ensure_topics(kafka_bootstrap, [(LLM_REQUESTS_V1, 12), (LLM_RESPONSES_V1, 12)])
    requester = f"sample-{secrets.token_hex(4)}"
    client = LlmClient[SampleUow](requester, llm_calls, name=f"answers-{requester}")
    answers: list[tuple[UUID, str, str | None]] = []

    async def on_answer(
        uow: SampleUow, call: dict[str, Any], response: LlmResponse, _: Any
    ) -> None:
        # the service's effect, in the answer's transaction: a row per application
        await uow.effects.record(call["request_id"], uow.tenant_id)
        code = None if response.error is None else str(response.error.code)
        answers.append((call["request_id"], response.status, code))

    replies = Replies[SampleUow](on_answer=on_answer)
    settings = SampleSettings(
        database_url=SecretStr(sample_db.app_url),
        kafka_bootstrap_servers=kafka_bootstrap,
        outbox_poll_interval=0.05,
    )
    runtime = Runtime[SampleUow](
        settings, uow=SampleUow, consumers=[client.consumer(replies)], jobs=client.jobs(replies)
    )
    gateway = Gateway(kafka_bootstrap, requester)
    listening = asyncio.create_task(gateway.listen())
    await runtime.start()
    try:
        yield Service(runtime, client, gateway, answers)
    finally:
        await runtime.stop()
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


def ask(text_: str = "hello") -> LlmRequest:
    # the client sets requester and reply topic: whatever the caller put there is replaced
    return LlmRequest(requester="anyone", messages=[ChatMessage(role=Role.USER, content=text_)])


async def send(svc: Service, tenant: UUID, request: LlmRequest, **kw: Any) -> LlmRequest:
    async with svc.runtime.uow(tenant) as uow:
        sent = await svc.client.send(uow, request, values={"note": "mine"}, **kw)
        await uow.commit()
    return sent


def answer(svc: Service, request_id: UUID, tenant: UUID | None, **kw: Any) -> Envelope[Any]:
    response = LlmResponse(
        request_id=request_id,
        requester=kw.pop("requester", svc.client.requester),
        status="ok",
        message=ChatMessage(role=Role.ASSISTANT, content="hi"),
        latency_ms=1,
        **kw,
    )
    return Envelope[Any](
        producer="llm-gateway",
        tenant_id=tenant,
        subject=subject_of(response),
        correlation_id=uuid4(),
        payload=response,
    )


async def publish(svc: Service, envelopes: list[Envelope[Any]]) -> None:
    """Send as the gateway's relay would, then wait until the client's consumer applied
    each distinct envelope (its inbox), whatever the handler made of it."""
    await deliver(svc.kafka, LLM_RESPONSES_V1, envelopes)
    ids = list({e.id for e in envelopes})
    group = f"sample.{svc.client.name}"

    async def applied() -> bool:
        async with svc.runtime.uow(None, all_tenants=True) as uow:
            found = await uow.session.scalar(
                text("SELECT count(*) FROM inbox WHERE consumer = :g AND event_id = ANY(:ids)"),
                {"g": group, "ids": ids},
            )
        return bool(found == len(ids))

    await eventually(applied)


async def call_of(svc: Service, tenant: UUID, request_id: UUID) -> dict[str, Any]:
    async with svc.runtime.uow(tenant) as uow:
        row = await svc.client.calls(uow).get(request_id)
    assert row is not None
    return row


async def applications(svc: Service, request_id: UUID) -> int:
    async with svc.runtime.uow(None, all_tenants=True) as uow:
        n = await uow.session.scalar(
            select(func.count()).select_from(effects).where(effects.c.event_id == request_id)
        )
    return int(n or 0)


async def test_a_request_is_answered_and_a_repeated_answer_applies_once(svc: Service) -> None:
    tenant = uuid4()
    # a wait longer than the test: the job that would ask again is still scheduled
    sent = await send(svc, tenant, ask(), resend_after=timedelta(hours=1), resends=1)
    assert (sent.requester, sent.reply_to) == (svc.client.requester, LLM_RESPONSES_V1)
    [request] = await svc.gateway.sent(sent.request_id, 1)
    assert request.tenant_id == tenant
    assert request.payload.requester == svc.client.requester
    assert (await call_of(svc, tenant, sent.request_id))["state"] == "pending"

    first = answer(svc, sent.request_id, tenant)
    again = answer(svc, sent.request_id, tenant)  # the same answer in a new envelope
    await publish(svc, [first, first, again])

    call = await call_of(svc, tenant, sent.request_id)
    assert (call["state"], call["note"], call["request"]) == ("answered", "mine", None)
    assert await applications(svc, sent.request_id) == 1
    assert [a for a in svc.answers if a[0] == sent.request_id] == [(sent.request_id, "ok", None)]
    # the answer cancelled the job that would have asked again
    async with svc.runtime.uow(tenant) as uow:
        job = await uow.jobs.find(svc.client.job_kind, f"{sent.request_id}:0")
    assert job is not None
    assert job.state == "cancelled"


async def test_a_lost_answer_is_asked_again_and_the_late_first_applies_once(
    svc: Service,
) -> None:
    tenant = uuid4()
    # not given up after the last wait: this test answers when it chooses
    sent = await send(
        svc, tenant, ask(), resend_after=timedelta(seconds=0.5), resends=1, give_up=False
    )
    # nobody answers: after its wait the same request (same id, new envelope) goes again
    first, second = await svc.gateway.sent(sent.request_id, 2)
    assert first.id != second.id
    assert first.payload.request_id == second.payload.request_id == sent.request_id
    assert second.payload.messages == sent.messages
    call = await call_of(svc, tenant, sent.request_id)
    assert (call["state"], call["resends"]) == ("pending", 1)

    # the first request's answer arrives late, with the second's
    late = answer(svc, sent.request_id, tenant)
    await publish(svc, [late, answer(svc, sent.request_id, tenant)])
    assert await applications(svc, sent.request_id) == 1
    assert (await call_of(svc, tenant, sent.request_id))["state"] == "answered"


async def test_a_call_never_answered_is_given_up_and_a_later_answer_ignored(
    svc: Service,
) -> None:
    tenant = uuid4()
    sent = await send(svc, tenant, ask(), resend_after=timedelta(seconds=0.3), resends=1)

    async def given_up() -> bool:
        return bool((await call_of(svc, tenant, sent.request_id))["state"] == "abandoned")

    await eventually(given_up)
    assert len(await svc.gateway.sent(sent.request_id, 2)) == 2
    assert [a for a in svc.answers if a[0] == sent.request_id] == [
        (sent.request_id, "error", "timeout")
    ]
    await publish(svc, [answer(svc, sent.request_id, tenant)])
    assert await applications(svc, sent.request_id) == 1
    assert (await call_of(svc, tenant, sent.request_id))["state"] == "abandoned"


async def test_answers_for_other_tenants_unknown_ids_or_other_requesters_apply_nothing(
    svc: Service,
) -> None:
    tenant, other = uuid4(), uuid4()
    sent = await send(svc, tenant, ask())
    await svc.gateway.sent(sent.request_id, 1)
    stray = [
        answer(svc, sent.request_id, other),  # the right id in another tenant's envelope
        answer(svc, sent.request_id, None),  # or in none
        answer(svc, uuid4(), tenant),  # an id nobody here sent
        answer(svc, sent.request_id, tenant, requester="someone-else"),
    ]
    await publish(svc, stray)
    assert await applications(svc, sent.request_id) == 0
    assert (await call_of(svc, tenant, sent.request_id))["state"] == "pending"
    # none of them stuck the consumer: the real answer after them applies
    await publish(svc, [answer(svc, sent.request_id, tenant)])
    assert await applications(svc, sent.request_id) == 1
    assert (await call_of(svc, tenant, sent.request_id))["state"] == "answered"
