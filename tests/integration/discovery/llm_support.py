"""A fake llm-gateway on the real broker: it consumes `llm.requests.v1` as the gateway does,
and answers each discovery request on its `reply_to` with what the test scripted for the
request's tenant. Like the real gateway it answers a request id once and repeats that
answer to a re-sent request; a scripted `SILENT` answers nothing (a lost call).

Helpers drive a session through the HTTP routes as one user of one tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import ChatMessage, LlmError, LlmRequest, LlmResponse, Role
from agentsuite_contracts.registry import TOPICS, subject_of
from agentsuite_contracts.topic_names import LLM_REQUESTS_V1
from agentsuite_kit.messaging.admin import ensure_topics
from tests.integration.discovery.harness import SIGNER, Service, send

T = TypeVar("T")
SILENT = object()
Reply = LlmResponse | object
Script = Callable[[LlmRequest], Reply]


def ok(answer: Any, tokens: int = 10) -> Script:
    """An answer whose text is `answer` (JSON-encoded unless a str)."""
    text = answer if isinstance(answer, str) else json.dumps(answer)

    def make(request: LlmRequest) -> Reply:
        return LlmResponse(
            request_id=request.request_id,
            requester=request.requester,
            status="ok",
            message=ChatMessage(role=Role.ASSISTANT, content=text),
            usage=Usage(
                prompt_tokens=0,
                completion_tokens=tokens,
                total_tokens=tokens,
                cost=Money(amount_micros=0, currency="USD"),
            ),
            latency_ms=1,
        )

    return make


def failed(code: str, retryable: bool = True) -> Script:
    def make(request: LlmRequest) -> Reply:
        return LlmResponse(
            request_id=request.request_id,
            requester=request.requester,
            status="error",
            latency_ms=1,
            error=LlmError(code=code, message=f"scripted {code}", retryable=retryable),
        )

    return make


def silent(request: LlmRequest) -> Reply:
    return SILENT


@dataclass(frozen=True)
class Lost:
    """The call is made (and kept) but its first answer never arrives: only a request sent
    again with the same id gets it, as the gateway answers a re-sent request from its record."""

    answer: LlmResponse


def lost(script: Script) -> Script:
    def make(request: LlmRequest) -> Reply:
        answer = script(request)
        assert isinstance(answer, LlmResponse)
        return Lost(answer)

    return make


def extraction(
    obligation: str, value: Any, confidence: float = 0.9, kind: str = "fact", **more: Any
) -> dict[str, Any]:
    return {
        "obligation": obligation,
        "value": value,
        "kind": kind,
        "confidence": confidence,
        **more,
    }


def extractions(*items: dict[str, Any]) -> Script:
    return ok({"extractions": list(items)})


@dataclass
class FakeGateway:
    kafka: str
    scripts: dict[UUID, deque[Script]] = field(default_factory=lambda: defaultdict(deque))
    # every request seen per tenant, re-sent ones included (request_id repeats)
    seen: dict[UUID, list[LlmRequest]] = field(default_factory=lambda: defaultdict(list))
    answers: dict[UUID, Reply] = field(default_factory=dict)
    sent: list[Envelope[Any]] = field(default_factory=list)

    def script(self, tenant: UUID, *replies: Script) -> None:
        self.scripts[tenant].extend(replies)

    def requests(self, tenant: UUID) -> list[LlmRequest]:
        return self.seen[tenant]

    async def handle(self, envelope: Envelope[Any]) -> None:
        request = envelope.payload
        tenant = envelope.tenant_id
        if not isinstance(request, LlmRequest) or request.requester != "discovery":
            return
        if tenant is None or tenant not in self.scripts:
            return  # another test's tenant (or a request left from an earlier run)
        self.seen[tenant].append(request)
        answer = self.answers.get(request.request_id)
        if answer is None:
            queue = self.scripts[tenant]
            answer = queue.popleft()(request) if queue else SILENT
            self.answers[request.request_id] = answer
            if isinstance(answer, Lost):
                return  # made, paid, and lost on its way back
        if isinstance(answer, Lost):
            answer = answer.answer
        if answer is SILENT:
            return
        assert isinstance(answer, LlmResponse)
        reply = Envelope[Any](
            producer="llm-gateway",
            tenant_id=tenant,
            subject=subject_of(answer),
            correlation_id=envelope.correlation_id,
            payload=answer,
        )
        self.sent.append(reply)
        await send(self.kafka, request.reply_to, [reply])


@contextlib.asynccontextmanager
async def fake_gateway(kafka: str) -> AsyncIterator[FakeGateway]:
    gateway = FakeGateway(kafka)
    # the gateway's topic, as `agentsuite up` makes it (discovery only produces to it)
    await ensure_topics(
        kafka, [(t.name, t.partitions) for t in TOPICS if t.name == LLM_REQUESTS_V1]
    )
    consumer = AIOKafkaConsumer(
        LLM_REQUESTS_V1,
        bootstrap_servers=kafka,
        group_id=f"fake-gateway-{uuid4().hex[:8]}",
        auto_offset_reset="latest",
    )
    await consumer.start()

    async def run() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    try:
                        envelope = Envelope[LlmRequest].model_validate_json(record.value)
                    except ValidationError:
                        continue  # another module's poison record on the shared topic
                    await gateway.handle(envelope)

    # the group has its partitions (and its start offsets) before any test sends
    while not consumer.assignment():
        await consumer.getmany(timeout_ms=100)
    task = asyncio.create_task(run())
    try:
        yield gateway
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await consumer.stop()


@dataclass
class User:
    """One user of one tenant, talking to discovery over HTTP."""

    service: Service
    tenant: UUID = field(default_factory=uuid4)
    subject: UUID = field(default_factory=uuid4)
    capabilities: list[str] | None = None

    def headers(self, **extra: str) -> dict[str, str]:
        return SIGNER.auth(self.tenant, self.capabilities, subject=self.subject) | extra

    async def post(self, path: str, body: Any, **headers: str) -> Any:
        return await self.service.client.post(path, json=body, headers=self.headers(**headers))

    async def get(self, path: str) -> Any:
        return await self.service.client.get(path, headers=self.headers())

    async def open(self, objective: str = "default", **body: Any) -> dict[str, Any]:
        r = await self.post("/v1/sessions", {"objective": objective, "title": "t", **body})
        assert r.status_code == 201, r.text
        made: dict[str, Any] = r.json()
        return made

    async def session(self, session_id: Any) -> dict[str, Any]:
        r = await self.get(f"/v1/sessions/{session_id}")
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found

    async def say(self, session_id: Any, content: str) -> dict[str, Any]:
        """Send a turn and wait until the session is no longer thinking."""
        r = await self.post(f"/v1/sessions/{session_id}/turns", {"content": content})
        assert r.status_code == 202, r.text
        return await self.settled(session_id)

    async def settled(self, session_id: Any, within: float = 60.0) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            now = await self.session(session_id)
            return None if now["status"] == "thinking" else now

        return await until(done, within=within, what="the session done thinking")

    async def turns(self, session_id: Any) -> list[dict[str, Any]]:
        r = await self.get(f"/v1/sessions/{session_id}/turns?limit=200")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    async def extractions(self, session_id: Any) -> list[dict[str, Any]]:
        r = await self.get(f"/v1/sessions/{session_id}/extractions?limit=200")
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items


async def until(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 60.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something; that (a hang guard, not a timing test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = await probe()
        if found is not None:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.05)


def obligations(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["key"]: o for o in view["obligations"]}


# a small objective whose order, dependencies and pool the tests can rely on
NOTIFY = {
    "key": "notify",
    "title": "Notify people",
    "description": "What a notification plan must know.",
    "obligations": [
        {"key": "goal", "title": "Goal", "description": "What it is for.", "kind": "goal"},
        {
            "key": "channel",
            "title": "Channel",
            "description": "How people are reached.",
            "kind": "input",
            "depends_on": ["goal"],
            "validator": {"type": "string", "enum": ["email", "sms"]},
            "questions": [{"key": "channel_q", "text": "Email or SMS?", "when": None}],
        },
        {
            "key": "approver",
            "title": "Approver",
            "description": "Who signs off.",
            "kind": "approval",
            "depends_on": ["goal"],
            "questions": [
                {
                    "key": "approver_email",
                    "text": "Who approves the emails?",
                    "when": 'answers.channel == "email"',
                }
            ],
        },
    ],
}


async def with_objective(user: User, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await user.post("/v1/objectives", body or NOTIFY)
    assert r.status_code == 201, r.text
    made: dict[str, Any] = r.json()
    return made
