"""`llm` and `agent` steps: requests to llm-gateway over `llm.requests.v1`, answered on
`llm.responses.v1`; budgets reserved before each call and settled from its usage.

Placeholder: filled in by the LLM/agent work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentsuite_contracts.common import ErrorInfo
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.engine.containers import StepFailure
from agentsuite_execution.uow import ExecutionUow

if TYPE_CHECKING:
    from agentsuite_execution.engine.kinds import Ctx


async def prepare(ctx: Ctx, step: Step) -> Any:
    """Outside any transaction, before an agent step's turn: run the tool calls its model
    asked for in the last turn; what `begin` gets as `before`."""
    return None


async def begin(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, before: Any) -> None:
    """In the step's transaction: reserve budget and send the next request (or finish)."""
    raise StepFailure(ErrorInfo(code="unsupported_kind", message=f"{step.kind} not yet wired"))


async def abandon(uow: ExecutionUow, run: Run, step: Step) -> None:
    """The step's pending LLM calls will not be waited for: release their reservations
    (an answer arriving later is ignored)."""
    for call in await uow.llm_calls.pending_of(run.execution_id, step.key):
        await uow.llm_calls.answer(call["request_id"], state="abandoned")
        await uow.executions.settle(
            run.execution_id,
            reserved_tokens=call["reserved_tokens"],
            reserved_cost=call["reserved_cost"],
            prompt_tokens=0,
            completion_tokens=0,
            cost=0,
        )


async def duration_exceeded(uow: ExecutionUow, run: Run) -> None:
    """The run's wall-clock budget ran out: act as its budget's `on_limit` says."""
    raise NotImplementedError
