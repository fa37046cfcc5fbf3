"""A run's LLM calls let go: what a pending call holds of the run's budget is released
when nobody waits for its answer any more (its step timed out, its run stopped)."""

from __future__ import annotations

from uuid import UUID

from agentsuite_contracts.topic_names import reply_topic
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.engine import budget_wait
from agentsuite_execution.repositories.tables import llm_calls
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.llm import LlmClient

REQUESTER = "execution"
# group `execution.responses` reads its own reply topic, and the shared one for answers
# to requests sent before it (agentsuite_kit.llm.client)
CLIENT = LlmClient[ExecutionUow](
    REQUESTER, llm_calls, reply_to=reply_topic(REQUESTER), name="responses"
)


async def abandon(uow: ExecutionUow, run: Run, step: Step) -> None:
    """The step's pending LLM calls will not be waited for: release their reservations
    (an answer arriving later is ignored)."""
    await release(uow, run.execution_id, step.key)
    await budget_wait.wake(uow, run)


async def release(uow: ExecutionUow, execution_id: UUID, key: str | None = None) -> None:
    """Abandon the run's pending LLM calls (only `key`'s, when given) and release what
    they hold of its budget."""
    for call in await uow.llm_calls.pending_of(execution_id, key):
        await CLIENT.abandon(uow, call)
        await uow.executions.settle(
            execution_id,
            reserved_tokens=call["reserved_tokens"],
            reserved_cost=call["reserved_cost"],
            prompt_tokens=0,
            completion_tokens=0,
            cost=0,
        )
