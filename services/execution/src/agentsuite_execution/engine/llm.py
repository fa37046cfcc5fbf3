"""`llm` and `agent` steps: requests to llm-gateway over `llm.requests.v1`, answered on
execution's own reply topic (`llm.responses.execution.v1`); budgets reserved before each
call and settled from its usage.

The transport is the kit's LLM client (`agentsuite_kit.llm`, `CLIENT`): a call is a row of
`llm_calls`, and one transaction each way. `begin` (the step's, run locked) reserves budget,
records the call and sends the request through the outbox (the client), and leaves the step
`waiting` with a timeout timer; while it waits the client sends the request again
`llm_resends` times (a lost answer is answered again), but the step's timer, which freezes
with a paused run, is what gives up. `applied` (the client's consumer, run locked first,
`replies`) settles the reservation from the usage and moves the step. An agent step goes
round (engine.agent): an answer with tool calls makes the step ready again as the same
attempt (`continue`), its worker runs the tools outside any transaction and sends the next turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentsuite_contracts.common import ErrorInfo, Money, Usage
from agentsuite_contracts.llm import (
    BudgetHint,
    ChatMessage,
    LlmErrorCode,
    LlmRequest,
    LlmResponse,
    PromptRef,
    ResponseFormat,
    Role,
    ToolDefinition,
)
from agentsuite_contracts.steps import OnLimit, StepKind
from agentsuite_execution.domain.budgets import STEP, Refused
from agentsuite_execution.domain.expressions import render
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import budget, budget_wait, ends, flow
from agentsuite_execution.engine.calls import CLIENT, REQUESTER
from agentsuite_execution.engine.ctx import Ctx, LlmBound, StepFailure
from agentsuite_execution.engine.moves import move_step
from agentsuite_execution.engine.scope import scope_for
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import BUILTINS
from agentsuite_execution.tools.builtins import PREFIX
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.llm import Replies

if TYPE_CHECKING:
    from agentsuite_execution.deps import Deps

__all__ = ["CLIENT", "REQUESTER"]  # the client lives in engine.calls, below this module
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

# An agent step's answer goes to engine.agent, which sends its next turn through this
# module: wired once by engine/__init__.py, so this module does not import its user.
AgentAnswered = Callable[["Deps", ExecutionUow, Run, Step, LlmResponse], Awaitable[None]]
_agent_answered: list[AgentAnswered] = []


def agents_answered_by(answered: AgentAnswered) -> None:
    """Where an agent step's answer goes (engine.agent.answered)."""
    _agent_answered[:] = [answered]


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


def function_name(name: str) -> str:
    """A tool's name as a model function name (`[A-Za-z0-9_-]`, as providers require)."""
    return _UNSAFE.sub("_", name)[:64]


def step_cap(step: Step, *more: Money | None) -> int | None:
    """What `step` may still spend in micros under its own caps (PlanStep.max_cost, ...)."""
    caps = [c.amount_micros for c in (step.plan_step.max_cost, *more) if c is not None]
    return None if not caps else max(0, min(caps) - step.cost)


async def definitions(uow: ExecutionUow, run: Run, names: list[str]) -> list[ToolDefinition]:
    """The model's view of tools `names`: builtins by name, others from the catalog (their
    versions go to the manifest); a tool not published here is an error."""
    out = []
    for name in names:
        if name.startswith(PREFIX) and name[len(PREFIX) :] in BUILTINS:
            out.append(
                ToolDefinition(
                    name=function_name(name),
                    description=f"the builtin tool {name}",
                    parameters={"type": "object"},
                )
            )
            continue
        tool = await uow.tools.resolve(name, None)
        if tool is None:
            raise StepFailure(ErrorInfo(code="unknown_tool", message=f"no published tool {name!r}"))
        await uow.executions.manifest(
            run.execution_id,
            "tools",
            tool.name,
            {"version": tool.version, "tool_version_id": str(tool.tool_version_id)},
        )
        out.append(
            ToolDefinition(
                name=function_name(name),
                description=tool.spec.description,
                parameters=tool.spec.input_schema,
            )
        )
    return out


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
