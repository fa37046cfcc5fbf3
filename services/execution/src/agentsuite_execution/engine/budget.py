"""Run budgets and per-step cost caps around LLM calls.

Before each call its use is bounded (the prompt as llm-gateway bounds it, the kit's
`chat_input_bound` of the same body: a known model family's tokenizer count, else a token
per byte; the completion = the step's `max_tokens` or the default) and reserved on the
run's row (`executions.reserve`: atomic, the row lock orders racing steps). The request is
capped so it cannot outspend what was reserved: `max_tokens` is lowered to the tokens
left, and the gateway is told the cost left (`BudgetHint.max_cost`); its own estimate is
the same bound, so whatever fits here fits there. The answer's usage settles the
reservation (the excess is released); usage past it is counted all the same and reported
(`LlmUsageOverrun`). A call that would fit what is spent but not what other calls in flight
hold waits for them to settle (engine.budget_wait). A call that does not fit what is spent
acts as the budget's `on_limit` says: `fail` the run, `pause` it (the step waits,
held, for the resume), or `warn` and go on unreserved.
`BudgetExceeded` is sent once per dimension, `BudgetWarning` once per dimension when what
is used crosses `warn_at_percent`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from agentsuite_contracts.common import ErrorInfo, Money
from agentsuite_contracts.execution import (
    BudgetExceeded,
    BudgetLimit,
    BudgetWarning,
    LlmUsageOverrun,
)
from agentsuite_contracts.llm import (
    ChatMessage,
    LlmRequest,
    LlmResponse,
    ResponseFormat,
    ToolDefinition,
)
from agentsuite_contracts.steps import OnLimit
from agentsuite_execution.domain.budgets import (
    STEP,
    Refused,
    Reserved,
    completion_cap,
    cost_micros,
    crossed,
)
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import RunStatus
from agentsuite_execution.engine import ends, flow, runs
from agentsuite_execution.engine.budget_wait import Wait
from agentsuite_execution.engine.journal import record
from agentsuite_execution.engine.moves import move_step
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.llm_body import chat_body
from agentsuite_kit.tokens import chat_input_bound

log = logging.getLogger(__name__)

ACTIONS = {OnLimit.FAIL: "failed", OnLimit.PAUSE: "paused", OnLimit.WARN: "warned"}


def prompt_tokens(
    model: str | None,
    messages: Sequence[ChatMessage],
    tools: Sequence[ToolDefinition] = (),
    response_format: ResponseFormat | None = None,
) -> int:
    """The prompt's upper bound, exactly as llm-gateway reserves it for the same request."""
    request = LlmRequest(
        requester="execution",
        model=model,
        messages=list(messages),
        tools=list(tools),
        response_format=response_format,
    )
    return chat_input_bound(chat_body(request), model)


async def price_of(
    uow: ExecutionUow, model: str | None, settings: ExecutionSettings, currency: str
) -> Price:
    """The model's list price; the dearest routed model when routing picks (or the model
    is not known here); else (or when priced in another currency than the run's budget,
    which cannot be added to it) the default price."""
    found = await uow.models.price(model) if model is not None else None
    if found is None:
        found = await uow.models.highest()
    if found is None or found.currency != currency:
        return Price(
            model=model or "",
            input_micros=settings.default_price_micros,
            output_micros=settings.default_price_micros,
            currency=currency,
        )
    return found


async def reserve(
    uow: ExecutionUow,
    settings: ExecutionSettings,
    run: Run,
    step: Step,
    *,
    model: str | None,
    prompt: int,
    wanted: int,
    cap: int | None,
) -> Reserved | Refused | Wait:
    """Hold a call's estimate on the run (the run's row is locked by the caller). `cap`:
    what the step may still spend in micros (its own cap, less what it spent)."""
    limits = run.limits
    price = await price_of(uow, model, settings, run.currency)
    # what the call would hold were the holds of calls in flight released: `completion`
    # is lowered only to what is spent, never to what others hold for a moment
    completion = completion_cap(limits, run, prompt, wanted, held=False)
    if completion <= 0:
        assert limits is not None
        assert limits.max_tokens is not None
        return Refused(
            BudgetLimit.TOKENS.value,
            limits.max_tokens,
            run.tokens_used,
            run.tokens_reserved,
            prompt + wanted,
        )
    cost = cost_micros(price, prompt, completion)
    if cap is not None and cost > cap:
        return Refused(STEP, cap + step.cost, step.cost, needs=cost)
    max_cost = None if limits is None or limits.max_cost is None else limits.max_cost.amount_micros
    if max_cost is not None and run.cost_used + cost > max_cost:
        return Refused(BudgetLimit.COST.value, max_cost, run.cost_used, run.cost_reserved, cost)
    held = await uow.executions.reserve(
        run.execution_id,
        tokens=prompt + completion,
        cost=cost,
        max_tokens=None if limits is None else limits.max_tokens,
        max_cost=max_cost,
    )
    if held is None:
        # it fits what is spent: only holds stand in the way; they are calls in flight
        # of other steps (this step has none: its last call settled before this one)
        assert limits is not None
        tokens_short = limits.max_tokens is not None and (
            run.tokens_used + run.tokens_reserved + prompt + completion > limits.max_tokens
        )
        limit = BudgetLimit.TOKENS.value if tokens_short else BudgetLimit.COST.value
        pending = await uow.llm_calls.pending_of(run.execution_id)
        if any(c["key"] != step.key and c["reserved_tokens"] + c["reserved_cost"] for c in pending):
            return Wait(limit)
        # holds no pending call owns (none should be): waiting could not end; refuse
        allowed = limits.max_tokens if tokens_short else max_cost
        assert allowed is not None
        spent = run.tokens_used if tokens_short else run.cost_used
        reserved = run.tokens_reserved if tokens_short else run.cost_reserved
        return Refused(
            limit, allowed, spent, reserved, prompt + completion if tokens_short else cost
        )
    left = None if max_cost is None else max_cost - held.cost_used - held.cost_reserved + cost
    if cap is not None:
        left = cap if left is None else min(left, cap)
    hint = None if left is None else Money(amount_micros=left, currency=run.currency)
    return Reserved(max_tokens=completion, tokens=prompt + completion, cost=cost, max_cost=hint)


def unreserved(wanted: int, cap: int | None, currency: str) -> Reserved:
    """`warn`: the call goes on without a reservation (bounded by the step's cap only)."""
    hint = None if cap is None else Money(amount_micros=cap, currency=currency)
    return Reserved(max_tokens=wanted, tokens=0, cost=0, max_cost=hint)


async def refuse(
    uow: ExecutionUow, run: Run, step: Step, refused: Refused, checkpoint: dict[str, Any]
) -> bool:
    """A call of `step` does not fit the run's budget: act as `on_limit` says; whether the
    call goes on (`warn`). `checkpoint`: the step's, kept for when it runs again."""
    limits = run.limits
    action = limits.on_limit if limits is not None else OnLimit.FAIL
    await exceeded(
        uow, run, refused.limit, refused.allowed, refused.used, ACTIONS[action], held=refused.held
    )
    if action == OnLimit.WARN:
        return True
    if action == OnLimit.PAUSE:
        await hold(uow, run, step, checkpoint)
        return False
    error = ErrorInfo(
        code="budget_exceeded",
        message=refused.message(),
        details={
            "limit": refused.limit,
            "allowed": refused.allowed,
            "used": refused.used,
            "spent": refused.spent,
            "held": refused.held,
            "needs": refused.needs,
        },
    )
    # for good, whatever its retry policy or on_error say: the run fails with it
    await uow.steps.finish_attempt(step, "failed", error=error.model_dump(mode="json"))
    await ends.failed(uow, run, step, error, fails_run=True, checkpoint=checkpoint)
    return False


async def hold(uow: ExecutionUow, run: Run, step: Step, checkpoint: dict[str, Any]) -> None:
    """Pause the run for its budget and put `step` back, held: it runs when the run is
    resumed, as the same attempt (`continue`), no failure counted."""
    await uow.timers.cancel(run.execution_id, key=step.key, kinds=["timeout"])
    await move_step(uow, run, step, step.hold(checkpoint, now=datetime.now(UTC)))
    if run.status == RunStatus.RUNNING:
        await runs.pause(uow, run, reason="budget", timers="count")


async def exceeded(
    uow: ExecutionUow,
    run: Run,
    limit: str,
    allowed: int,
    used: int,
    action: str,
    *,
    held: int | None = None,
) -> None:
    """`BudgetExceeded` for `limit`, once per run (a step's own cap sends none): `used` is
    what is spent, `held` what calls in flight held beside it."""
    if limit == STEP or limit in run.exceeded:
        return
    await uow.executions.set(run.execution_id, exceeded=[*run.exceeded, limit])
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        BudgetExceeded(
            execution_id=run.execution_id,
            limit=limit,
            allowed=allowed,
            used=used,
            held=held,
            currency=run.currency if limit == BudgetLimit.COST else None,
            action=action,  # type: ignore[arg-type]  # one of ACTIONS' values
        ),
        level="warning",
    )


async def warn(uow: ExecutionUow, run: Run) -> None:
    """After a settle: `BudgetWarning` for each dimension that crossed its threshold."""
    limits = run.limits
    if limits is None or limits.warn_at_percent is None:
        return
    found = crossed(limits, run)
    if not found:
        return
    await uow.executions.set(run.execution_id, warned=[*run.warned, *(f[0] for f in found)])
    for limit, allowed, used in found:
        record(
            uow,
            run.tenant_id,
            run.execution_id,
            BudgetWarning(
                execution_id=run.execution_id,
                limit=limit,
                allowed=allowed,
                used=used,
                currency=run.currency if limit == BudgetLimit.COST else None,
                threshold_percent=limits.warn_at_percent,
            ),
            level="warning",
        )


async def duration_exceeded(uow: ExecutionUow, run: Run) -> None:
    """The run's wall-clock budget ran out (its `budget` timer): act as `on_limit` says."""
    limits = run.limits
    if limits is None or limits.max_duration_ms is None:
        return
    if run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        return
    action = limits.on_limit
    used = flow.elapsed_ms(run.started_at)
    limit = BudgetLimit.DURATION.value
    await exceeded(uow, run, limit, limits.max_duration_ms, used, ACTIONS[action])
    if action == OnLimit.FAIL:
        error = ErrorInfo(
            code="budget_exceeded",
            message=f"the execution ran past its max_duration_ms ({limits.max_duration_ms})",
            details={"limit": limit, "allowed": limits.max_duration_ms, "used": used},
        )
        await ends.fail_run(uow, run, error, step=None)
    elif action == OnLimit.PAUSE and run.status == RunStatus.RUNNING:
        await runs.pause(uow, run, reason="budget", timers="count")


def overrun(
    uow: ExecutionUow,
    run: Run,
    call: dict[str, Any],
    response: LlmResponse,
    tokens: int,
    cost: int,
) -> None:
    """Usage past what the call reserved (the provider ignored the `max_tokens` it was
    sent, or counted more input than any tokenizer bound allows): counted all the same,
    and reported, as an `LlmUsageOverrun` event and a warning in the log. Calls made
    unreserved (`warn` past the budget) reserve nothing and are not checked."""
    held_tokens, held_cost = call["reserved_tokens"], call["reserved_cost"]
    if held_tokens <= 0 or (tokens <= held_tokens and cost <= held_cost):
        return
    log.warning(
        "llm call %s of execution %s step %s: usage %d tokens / %d micros past its "
        "reservation of %d / %d (model %s)",
        response.request_id,
        run.execution_id,
        call["key"],
        tokens,
        cost,
        held_tokens,
        held_cost,
        response.model,
    )
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        LlmUsageOverrun(
            execution_id=run.execution_id,
            step=call["key"],
            request_id=response.request_id,
            reserved_tokens=held_tokens,
            used_tokens=tokens,
            reserved_cost=held_cost,
            used_cost=cost,
            model=response.model,
        ),
        key=call["key"],
        level="warning",
    )
