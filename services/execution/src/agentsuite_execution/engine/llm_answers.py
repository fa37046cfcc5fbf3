"""`llm` and `agent` steps, the answering side: what execution does with the gateway's
answers (the LLM client's consumer and jobs, `replies`). `applied` (run locked first)
settles the call's reservation from its usage and moves the step; an agent step's answer
goes to engine.agent, whose tool calls make the step ready again as the same attempt
(`continue`): its worker runs the tools outside any transaction and sends the next turn.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentsuite_contracts.common import ErrorInfo, Money, Usage
from agentsuite_contracts.llm import LlmErrorCode, LlmResponse
from agentsuite_contracts.steps import OnLimit, StepKind
from agentsuite_execution.domain.budgets import Refused
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import budget, budget_wait, ends, flow
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.llm import Replies

if TYPE_CHECKING:
    from agentsuite_execution.deps import Deps

# An agent step's answer goes to engine.agent, which sends its next turn through
# engine.llm: wired once by engine/__init__.py, so this module does not import its user.
AgentAnswered = Callable[["Deps", ExecutionUow, Run, Step, LlmResponse], Awaitable[None]]
_agent_answered: list[AgentAnswered] = []


def agents_answered_by(answered: AgentAnswered) -> None:
    """Where an agent step's answer goes (engine.agent.answered)."""
    _agent_answered[:] = [answered]


def replies(deps: Deps) -> Replies[ExecutionUow]:
    """What execution does with the gateway's answers (the client's consumer and jobs)."""

    async def on_answer(
        uow: ExecutionUow, call: dict[str, Any], response: LlmResponse, run: Run
    ) -> None:
        await applied(deps, uow, call, response, run)

    return Replies[ExecutionUow](on_answer=on_answer, lock=_lock_run, stored=_stored)


async def _lock_run(uow: ExecutionUow, call: dict[str, Any]) -> Run | None:
    # the run first, then the call: the order every engine transaction locks them in
    return await uow.executions.get(call["execution_id"], lock=True)


def _spent(response: LlmResponse) -> tuple[int, int, int]:
    """The answer's prompt and completion tokens and cost (micros)."""
    usage = response.usage
    if usage is None:
        return 0, 0, 0
    cost = usage.cost.amount_micros if usage.cost is not None else 0
    return usage.prompt_tokens, usage.completion_tokens, cost


def _stored(response: LlmResponse) -> dict[str, Any]:
    """What the call's row keeps of its answer."""
    prompt, completion, cost = _spent(response)
    return {
        "tokens": prompt + completion,
        "cost": cost,
        "model": response.model,
        "cached": response.cached,
        "response": response.model_dump(mode="json"),
    }


async def applied(
    deps: Deps, uow: ExecutionUow, call: dict[str, Any], response: LlmResponse, run: Run
) -> None:
    """The gateway's answer to a pending call (the client matched it, marked the call
    answered, run locked): settle its reservation, then move the step if it still waits
    for this call (same attempt). Other requesters' answers, unknown calls and calls no
    longer pending (abandoned, answered) never get here."""
    step = await uow.steps.get(run.execution_id, call["key"], lock=True)
    prompt, completion, cost = _spent(response)
    run = await uow.executions.settle(
        run.execution_id,
        reserved_tokens=call["reserved_tokens"],
        reserved_cost=call["reserved_cost"],
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost=cost,
    )
    await uow.steps.add_usage(run.execution_id, call["key"], prompt + completion, cost)
    budget.overrun(uow, run, call, response, prompt + completion, cost)
    if response.model is not None:
        route = {"model": response.model, "provider": response.provider}
        await uow.executions.manifest(run.execution_id, "models", call["key"], route)
    await budget.warn(uow, run)
    await budget_wait.wake(uow, run)
    if step is None or step.state != StepState.WAITING or step.attempt != call["attempt"]:
        return
    await uow.timers.cancel(run.execution_id, key=step.key, kinds=["timeout"])
    run = await uow.executions.get(run.execution_id, lock=True) or run
    step = await uow.steps.get(run.execution_id, step.key, lock=True) or step
    if response.status != "ok":
        await failed(deps, uow, run, step, response)
    elif step.kind == StepKind.AGENT:
        await _agent_answered[0](deps, uow, run, step, response)
    else:
        await _succeeded(uow, run, step, response)
    await ends.conclude(uow, run.execution_id)


async def _succeeded(uow: ExecutionUow, run: Run, step: Step, response: LlmResponse) -> None:
    message = response.message
    content = message.content if message is not None else None
    output: dict[str, Any] = {
        "content": content,
        "model": response.model,
        "finish_reason": None if response.finish_reason is None else str(response.finish_reason),
    }
    if message is not None and message.tool_calls:
        output["tool_calls"] = [c.model_dump(mode="json") for c in message.tool_calls]
    spec = step.plan_step.llm
    wants_json = (spec is not None and spec.output_schema is not None) or bool(
        (step.checkpoint or {}).get("json")
    )
    if wants_json:
        try:
            output["json"] = json.loads(content or "")
        except ValueError:
            error = ErrorInfo(
                code="invalid_output",
                message="the model's answer is not the JSON its output_schema asks for",
                retryable=True,
            )
            await ends.fail(uow, run, step, error)
            return
    await flow.succeed(uow, run, step, output, usage=response.usage)


async def failed(
    deps: Deps, uow: ExecutionUow, run: Run, step: Step, response: LlmResponse
) -> None:
    """An error answer. The gateway refusing for the run's cost hint is the run's budget
    speaking (`on_limit`); the gateway's process dying mid-call ("interrupted") is no fault
    of the step, so the attempt is retried as a lost lease is: at once, without using the
    policy's attempts, bounded by `lease_loss_limit`; anything else fails the attempt
    (retried as its policy says)."""
    error = response.error
    code = str(error.code) if error is not None else LlmErrorCode.PROVIDER_ERROR.value
    limits = run.limits
    if (
        code == LlmErrorCode.BUDGET_EXCEEDED
        and limits is not None
        and limits.max_cost is not None
        and limits.on_limit != OnLimit.WARN
    ):
        refused = Refused("cost", limits.max_cost.amount_micros, run.cost_used, run.cost_reserved)
        await budget.refuse(uow, run, step, refused, dict(step.checkpoint or {}))
        return
    info = ErrorInfo(
        code=code,
        message=error.message if error is not None else "the gateway answered an error",
        retryable=error.retryable if error is not None else True,
        details=None if error is None else {"provider_status": error.provider_status},
    )
    lost = code == LlmErrorCode.INTERRUPTED
    await ends.fail(
        uow, run, step, info, lost=lost, lease_loss_limit=deps.settings.lease_loss_limit
    )


def usage_of(prompt: int, completion: int, cost: int, currency: str) -> Usage:
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        cost=Money(amount_micros=cost, currency=currency),
    )
