"""The gateway answering "interrupted" (its process died mid-call) is not the step's
fault: the LLM step is sent again at once without using its retry policy's attempts, as a
lost lease is, and only up to `lease_loss_limit` times, so it cannot loop forever."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.llm import (
    ChatMessage,
    LlmError,
    LlmErrorCode,
    LlmResponse,
    Role,
)
from agentsuite_contracts.steps import LlmStep, PlanStep, RetryPolicy, StepKind
from agentsuite_contracts.topic_names import reply_topic
from tests.integration.execution.engine_support import approve, run_plan, steps_of, wait_for
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, send
from tests.integration.kafka_helpers import eventually

# the test plays llm-gateway: it answers on the reply topic execution's requests name
REPLIES = reply_topic("execution")


def interrupted(request_id: UUID, run_id: UUID) -> LlmResponse:
    return LlmResponse(
        request_id=request_id,
        requester="execution",
        status="error",
        latency_ms=0,
        run_id=str(run_id),
        error=LlmError(
            code=LlmErrorCode.INTERRUPTED,
            message="interrupted; retry with a new request_id",
            retryable=True,
        ),
    )


def ok(request_id: UUID, run_id: UUID) -> LlmResponse:
    return LlmResponse(
        request_id=request_id,
        requester="execution",
        status="ok",
        message=ChatMessage(role=Role.ASSISTANT, content="done"),
        usage=Usage(
            prompt_tokens=1,
            completion_tokens=1,
            total_tokens=2,
            cost=Money(amount_micros=2, currency="USD"),
        ),
        model="m-interrupted",
        provider="stub",
        latency_ms=1,
        run_id=str(run_id),
    )


async def next_call(ex: Execution, tenant: UUID, run_id: UUID, seen: set[UUID]) -> UUID:
    """The request id of the step's pending call not answered yet."""
    found: list[dict[str, Any]] = []

    async def sent() -> bool:
        nonlocal found
        async with ex.deps.uow(tenant) as uow:
            found = [
                c for c in await uow.llm_calls.pending_of(run_id) if c["request_id"] not in seen
            ]
        return bool(found)

    await eventually(sent, within=60)
    request_id: UUID = found[0]["request_id"]
    seen.add(request_id)
    return request_id


async def test_an_interrupted_answer_is_retried_without_using_the_retry_policy(
    engine: Execution,
) -> None:
    tenant = uuid4()
    step = PlanStep(
        key="ask",
        name="ask",
        kind=StepKind.LLM,
        llm=LlmStep(prompt="say it", model="m-interrupted", max_tokens=20),
        retry=RetryPolicy(max_attempts=1),
    )
    plan = await approve(engine, tenant, [step])
    run_id = await run_plan(engine, tenant, plan)
    seen: set[UUID] = set()
    for _ in range(2):
        first = await next_call(engine, tenant, run_id, seen)
        await send(engine.kafka, REPLIES, [envelope(interrupted(first, run_id), tenant_id=tenant)])
    last = await next_call(engine, tenant, run_id, seen)
    await send(engine.kafka, REPLIES, [envelope(ok(last, run_id), tenant_id=tenant)])
    run = await wait_for(engine, tenant, run_id, within=60)
    assert run.status == "completed", run.error
    done = (await steps_of(engine, tenant, run_id))["ask"]
    assert (done.state, done.failures, done.lease_losses) == ("succeeded", 0, 2)


async def test_interrupted_answers_without_end_fail_the_step_at_the_lease_loss_limit(
    engine: Execution,
) -> None:
    tenant = uuid4()
    step = PlanStep(
        key="ask",
        name="ask",
        kind=StepKind.LLM,
        llm=LlmStep(prompt="say it", model="m-interrupted", max_tokens=20),
        retry=RetryPolicy(max_attempts=3, initial_delay_ms=0),
    )
    plan = await approve(engine, tenant, [step])
    run_id = await run_plan(engine, tenant, plan)
    limit = engine.deps.settings.lease_loss_limit
    seen: set[UUID] = set()
    for _ in range(limit + 1):
        call = await next_call(engine, tenant, run_id, seen)
        answer = envelope(interrupted(call, run_id), tenant_id=tenant)
        await send(engine.kafka, REPLIES, [answer])
    run = await wait_for(engine, tenant, run_id, within=60)
    assert run.status == "failed"
    done = (await steps_of(engine, tenant, run_id))["ask"]
    assert (done.state, done.failures, done.lease_losses) == ("failed", 0, limit + 1)
    assert done.error is not None
    assert done.error["code"] == "interrupted"
