"""`llm` and `agent` steps, the sending side: requests to llm-gateway over
`llm.requests.v1`, answered on execution's own reply topic (`llm.responses.execution.v1`);
budgets reserved before each call. What is done with the answers is `engine.llm_answers`.

The transport is the kit's LLM client (`agentsuite_kit.llm`, `CLIENT`): a call is a row of
`llm_calls`, and one transaction each way. `begin` (the step's, run locked) reserves budget,
records the call and sends the request through the outbox (the client), and leaves the step
`waiting` with a timeout timer; while it waits the client sends the request again
`llm_resends` times (a lost answer is answered again), but the step's timer, which freezes
with a paused run, is what gives up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_contracts.common import ErrorInfo, Money
from agentsuite_contracts.llm import (
    BudgetHint,
    ChatMessage,
    LlmRequest,
    PromptRef,
    ResponseFormat,
    Role,
    ToolDefinition,
)
from agentsuite_contracts.steps import OnLimit
from agentsuite_execution.domain.budgets import STEP, Refused
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.engine import budget, budget_wait
from agentsuite_execution.engine.calls import CLIENT, REQUESTER
from agentsuite_execution.engine.catalog_tools import definitions, function_name
from agentsuite_execution.engine.ctx import Ctx, LlmBound, StepFailure
from agentsuite_execution.engine.moves import move_step
from agentsuite_execution.engine.scope import scope_for
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.expressions import render

# the client lives in engine.calls, below this module; the tool helpers in catalog_tools
__all__ = ["CLIENT", "REQUESTER", "definitions", "function_name"]


@dataclass(frozen=True)
class Ask:
    """One model call a step wants to make."""

    model: str | None
    messages: list[ChatMessage]
    tools: list[ToolDefinition] = field(default_factory=list)
    response_format: ResponseFormat | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    prompt: PromptRef | None = None


async def begin(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step) -> None:
    """In an `llm` step's transaction: reserve budget and send its request."""
    spec = step.plan_step.llm
    assert spec is not None
    scope = await scope_for(uow, run, step)
    messages = []
    if spec.system:
        messages.append(ChatMessage(role=Role.SYSTEM, content=text_of(render(spec.system, scope))))
    messages.append(ChatMessage(role=Role.USER, content=text_of(render(spec.prompt, scope))))
    fmt = None
    if spec.output_schema is not None:
        fmt = ResponseFormat(
            kind="json_schema", name=function_name(step.key), json_schema=spec.output_schema
        )
    ask = Ask(
        model=spec.model,
        messages=messages,
        tools=await definitions(uow, run, spec.tools),
        response_format=fmt,
        temperature=spec.temperature,
        max_tokens=spec.max_tokens,
    )
    await send(ctx.deps.settings, uow, run, step, ask, checkpoint={}, cap=step_cap(step))


async def begin_tool(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, bound: LlmBound) -> None:
    """In a tool step's transaction, for a tool bound as `llm`: the gateway renders the
    binding's prompt (name + label) with the step's input as its variables; the input
    also goes as the user turn the template answers (a request needs one message). An
    output schema asks for JSON, parsed into the output's `json` as an `llm` step's."""
    config = bound.binding.config
    label = config.get("label")
    model = config.get("model")
    variables = bound.input if isinstance(bound.input, dict) else {"input": bound.input}
    fmt = None
    if bound.output_schema:
        fmt = ResponseFormat(
            kind="json_schema", name=function_name(step.key), json_schema=bound.output_schema
        )
    ask = Ask(
        model=model if isinstance(model, str) and model else None,
        messages=[ChatMessage(role=Role.USER, content=text_of(bound.input))],
        response_format=fmt,
        prompt=PromptRef(
            name=bound.binding.target,
            label=label if isinstance(label, str) and label else None,
            variables=variables,
        ),
    )
    checkpoint = {"llm_tool": True, "json": fmt is not None}
    await send(ctx.deps.settings, uow, run, step, ask, checkpoint=checkpoint, cap=step_cap(step))


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def step_cap(step: Step, *more: Money | None) -> int | None:
    """What `step` may still spend in micros under its own caps (PlanStep.max_cost, ...)."""
    caps = [c.amount_micros for c in (step.plan_step.max_cost, *more) if c is not None]
    return None if not caps else max(0, min(caps) - step.cost)


async def send(
    settings: ExecutionSettings,
    uow: ExecutionUow,
    run: Run,
    step: Step,
    ask: Ask,
    *,
    checkpoint: dict[str, Any],
    cap: int | None,
) -> None:
    """Reserve the call's budget and send it; the step waits for the answer. A call that
    does not fit acts as the budget says (see budget.refuse); one over the step's own cap
    fails the step."""
    wanted = ask.max_tokens or settings.default_max_tokens
    prompt = budget.prompt_tokens(ask.model, ask.messages, ask.tools, ask.response_format)
    held = await budget.reserve(
        uow, settings, run, step, model=ask.model, prompt=prompt, wanted=wanted, cap=cap
    )
    if isinstance(held, budget_wait.Wait):
        await budget_wait.wait(uow, run, step, checkpoint)
        return
    if isinstance(held, Refused):
        if held.limit == STEP:
            raise StepFailure(
                ErrorInfo(
                    code="budget_exceeded",
                    message=f"step {step.key} may spend {held.allowed} micros in all and has "
                    f"spent {held.used}: its next call does not fit",
                    details={"limit": held.limit, "allowed": held.allowed, "used": held.used},
                )
            )
        if not await budget.refuse(uow, run, step, held, checkpoint):
            return
        held = budget.unreserved(wanted, cap, run.currency)
    limits = run.limits
    hint = held.max_cost
    if limits is not None and limits.on_limit == OnLimit.WARN:
        # `warn` goes on past the run's budget: only the step's own cap binds the gateway
        hint = None if cap is None else Money(amount_micros=cap, currency=run.currency)
    timeout_ms = step.plan_step.timeout_ms or int(settings.llm_timeout * 1000)
    now = datetime.now(UTC)
    request = LlmRequest(
        requester=CLIENT.requester,
        run_id=str(run.execution_id),
        model=ask.model,
        messages=ask.messages,
        tools=ask.tools,
        temperature=ask.temperature,
        max_tokens=held.max_tokens,
        response_format=ask.response_format,
        prompt=ask.prompt,
        budget=BudgetHint(max_cost=hint, scope=f"execution:{run.execution_id}"),
        deadline=now + timedelta(milliseconds=timeout_ms),
        labels={
            "execution_id": str(run.execution_id),
            "step": step.key,
            "plan_id": str(run.plan_id),
        },
    )
    resends = settings.llm_resends
    await CLIENT.send(
        uow,
        request,
        values={
            "execution_id": run.execution_id,
            "key": step.key,
            "attempt": step.attempt,
            "reserved_tokens": held.tokens,
            "reserved_cost": held.cost,
        },
        resend_after=timedelta(milliseconds=timeout_ms / (resends + 1)) if resends else None,
        resends=resends,
        # the step's own timer gives up (see timers.fire): it freezes with a paused run
        give_up=False,
    )
    checkpoint = {k: v for k, v in checkpoint.items() if k != "continue"}
    waiting = {**checkpoint, "request_id": str(request.request_id)}
    await move_step(uow, run, step, step.wait(waiting))
    due = now + timedelta(milliseconds=timeout_ms)
    await uow.timers.add(run.execution_id, "timeout", due, key=step.key, attempt=step.attempt)
