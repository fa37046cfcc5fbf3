"""An LLM step whose answer is lost: the kit's client sends the same request again (same
request id) while the step waits, and of the late first answer and the second the step
settles once. The resend job is run here by hand, as the runner would at its time (the
step's wait is an hour, so neither its timer nor the job's slot comes during the test)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.steps import LlmStep, PlanStep, StepKind
from agentsuite_contracts.topic_names import reply_topic
from agentsuite_execution.engine import llm, llm_answers
from tests.integration.execution.engine_support import approve, run_plan, steps_of, wait_for
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import envelope, send
from tests.integration.execution.test_llm_interrupted import next_call, ok

HOUR_MS = 3_600_000

# the test plays llm-gateway: it answers on the reply topic execution's requests name
REPLIES = reply_topic("execution")


async def _requests_sent(ex: Execution, request_id: UUID) -> int:
    rows = await ex.owner_sql(
        "SELECT count(*) FROM outbox WHERE key = :k AND type = 'llm.completion.requested'",
        k=str(request_id),
    )
    return int(rows[0][0])


async def _call(ex: Execution, tenant: UUID, run_id: UUID) -> dict[str, Any]:
    async with ex.deps.uow(tenant) as uow:
        [call] = await uow.llm_calls.of(run_id)
    return call


async def test_a_lost_answer_is_asked_for_again_and_settles_the_step_once(
    engine: Execution,
) -> None:
    tenant = uuid4()
    step = PlanStep(
        key="ask",
        name="ask",
        kind=StepKind.LLM,
        llm=LlmStep(prompt="say it", model="m-resend", max_tokens=20),
        timeout_ms=HOUR_MS,
    )
    plan = await approve(engine, tenant, [step])
    run_id = await run_plan(engine, tenant, plan)
    request_id = await next_call(engine, tenant, run_id, set())
    assert await _requests_sent(engine, request_id) == 1

    kind = llm.CLIENT.job_kind
    async with engine.deps.uow(tenant, held=True) as uow:
        job = await uow.jobs.find(kind, f"{request_id}:0")
        assert job is not None
        await llm.CLIENT.jobs(llm_answers.replies(engine.deps))[kind](job, uow)
        await uow.finish()
    assert await _requests_sent(engine, request_id) == 2
    call = await _call(engine, tenant, run_id)
    assert (call["state"], call["resends"]) == ("pending", 1)

    # the first request's answer, late, and the second's
    answers = [envelope(ok(request_id, run_id), tenant_id=tenant) for _ in range(2)]
    await send(engine.kafka, REPLIES, answers)
    run = await wait_for(engine, tenant, run_id, within=60)
    assert run.status == "completed", run.error
    done = (await steps_of(engine, tenant, run_id))["ask"]
    assert (done.state, done.attempt, done.tokens, done.cost) == ("succeeded", 1, 2, 2)
    assert (run.tokens_used, run.cost_used, run.tokens_reserved, run.cost_reserved) == (2, 2, 0, 0)
    call = await _call(engine, tenant, run_id)
    assert (call["state"], call["tokens"], call["request"]) == ("answered", 2, None)
    # the answer cancelled the job that would have sent it a third time
    async with engine.deps.uow(tenant) as uow:
        later = await uow.jobs.find(kind, f"{request_id}:1")
    assert later is not None
    assert later.state == "cancelled"
