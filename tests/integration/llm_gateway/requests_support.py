"""Kafka request/reply in tests: publish `LlmRequest`s, read `LlmResponse`s by request id,
and count the upstream calls the real pipeline makes (the built-in `local` provider answers)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agentsuite_contracts.envelope import Actor, Envelope, Subject
from agentsuite_contracts.llm import ChatMessage, LlmRequest, LlmResponse, Role
from agentsuite_contracts.topic_names import LLM_REQUESTS_V1, LLM_RESPONSES_V1
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.upstream.base import Call, Reply

REQUESTS = LLM_REQUESTS_V1
RESPONSES = LLM_RESPONSES_V1


def ask(text: str, **kw: Any) -> LlmRequest:
    values: dict[str, Any] = {
        "requester": "tests",
        "model": "local-echo",
        "messages": [ChatMessage(role=Role.USER, content=text)],
        "cache": False,
    }
    values.update(kw)
    return LlmRequest.model_validate(values)


def envelope(tenant: UUID | None, request: LlmRequest, actor: Actor | None = None) -> bytes:
    return (
        Envelope[LlmRequest](
            producer="tests",
            tenant_id=tenant,
            actor=actor,
            subject=Subject(type="request", id=str(request.request_id)),
            correlation_id=uuid4(),
            payload=request,
        )
        .model_dump_json()
        .encode()
    )


async def publish(
    bootstrap: str, records: list[tuple[bytes, bytes]], topic: str = REQUESTS
) -> None:
    """(key, value) records, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def replies(
    bootstrap: str, request_id: UUID, expect: int, topic: str = RESPONSES, within: float = 30.0
) -> list[Envelope[LlmResponse]]:
    """The first `expect` responses to `request_id` on `topic` (fewer if time runs out)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    key = str(request_id).encode()
    out: list[Envelope[LlmResponse]] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                out += [
                    Envelope[LlmResponse].model_validate_json(r.value)
                    for r in records
                    if r.key == key
                ]
        return out
    finally:
        await consumer.stop()


@dataclass
class Upstream:
    """Counts (and may hold) the calls reaching the real adapters, by a marker in the text."""

    calls: Counter[str] = field(default_factory=Counter)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    entered: dict[str, asyncio.Event] = field(default_factory=dict)

    def marker(self, call: Call) -> str:
        messages = call.body.get("messages") or []
        return str(messages[-1].get("content")) if messages else ""

    def hold(self, text: str) -> tuple[asyncio.Event, asyncio.Event]:
        """(entered, release) events for calls whose last message is `text`."""
        self.gates[text] = asyncio.Event()
        self.entered[text] = asyncio.Event()
        return self.entered[text], self.gates[text]


class _Counted:
    def __init__(self, inner: Any, upstream: Upstream) -> None:
        self.inner = inner
        self.upstream = upstream

    async def complete(self, call: Call) -> Reply:
        text = self.upstream.marker(call)
        self.upstream.calls[text] += 1
        if text in self.upstream.gates:
            self.upstream.entered[text].set()
            await self.upstream.gates[text].wait()
        reply: Reply = await self.inner.complete(call)
        return reply

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def count_upstream(deps: Deps, monkeypatch: Any) -> Upstream:
    upstream = Upstream()
    real = deps.upstreams.adapter

    def adapter(provider: Any) -> Any:
        return _Counted(real(provider), upstream)

    monkeypatch.setattr(deps.upstreams, "adapter", adapter)
    return upstream
