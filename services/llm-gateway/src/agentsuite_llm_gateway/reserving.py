"""Budget reservations on the request path: what a call may spend before it is sent.

A budget is touched only when the caller has one: the reservation is one short transaction
(settled by another as the call ends, see outcomes.py), taken for the model about to be
tried and swapped for a bigger one when a fallback model's estimate is larger. A budget
that says downgrade routes to its cheaper model instead of refusing.
"""

from __future__ import annotations

import random
from datetime import datetime

from agentsuite_llm_gateway.budgets import BudgetExhausted, BudgetGate
from agentsuite_llm_gateway.domain import asks
from agentsuite_llm_gateway.domain.budgets import output_reservation
from agentsuite_llm_gateway.domain.catalog import Exhaust, Model
from agentsuite_llm_gateway.domain.costs import estimate_micros
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.domain.routing import Ask, Route, plan
from agentsuite_llm_gateway.prepared import Prepared


def bounded(job: Prepared) -> bool:
    """Whether this call must not outspend its estimate (a budget or a cost cap)."""
    return job.options.max_cost_micros is not None or bool(
        job.catalog.budgets_for(job.caller.subjects())
    )


def output_cap(job: Prepared, model: Model) -> int:
    """Output tokens each choice may produce (embeddings produce none)."""
    return 0 if job.embeddings else output_reservation(job.max_output, model.max_output)


async def reserve(budgets: BudgetGate, job: Prepared, model: Model, rng: random.Random) -> Model:
    """Hold the budget `model`'s estimate needs (swapping a smaller hold taken for an
    earlier model); a budget that says downgrade routes to its cheaper model instead."""
    rules = job.catalog.budgets_for(job.caller.subjects())
    if not rules or job.reserved_for == model.name:
        return model
    output = output_cap(job, model) * job.choices
    tokens = job.prompt_tokens + output
    micros = estimate_micros(model.price_at(job.at), job.prompt_tokens, output)
    if job.reservation is not None:
        if job.reservation.tokens >= tokens and job.reservation.micros >= micros:
            job.reserved_for = model.name
            return model
        await budgets.release(job.caller.tenant_id, job.reservation)
        job.reservation = None
    try:
        job.reservation = await budgets.reserve(job.caller, rules, tokens, micros)
    except BudgetExhausted as exc:
        rule = exc.rule
        if rule.on_exhaust is Exhaust.DOWNGRADE and rule.downgrade_to is not None:
            cheaper = _downgrade(job, rule.downgrade_to, model, rng)
            if cheaper is not None:
                return await reserve(budgets, job, cheaper, rng)
        figures = {"budget": exc.figures} if exc.figures else None
        raise GatewayError(Code.BUDGET_EXCEEDED, str(exc), extensions=figures) from None
    job.reserved_for = model.name
    return model


def _downgrade(job: Prepared, target: str, current: Model, rng: random.Random) -> Model | None:
    ask = Ask(
        requested=target,
        caller=job.caller,
        needs=frozenset({"embeddings"}) if job.embeddings else asks.needs(job.body),
        prompt_tokens=job.prompt_tokens,
        max_output=job.max_output,
        max_cost_micros=job.options.max_cost_micros,
    )
    try:
        route = plan(job.catalog, ask, rng)
    except GatewayError:
        return None
    cheaper = route.candidates[0]
    return None if cheaper.name == current.name else cheaper


def within_cap(route: Route, ask: Ask, n: int, at: datetime) -> Route:
    """The route's models whose estimate for all `n` choices fits the cost cap."""
    cap = ask.max_cost_micros or 0
    fitting = tuple(
        m
        for m in route.candidates
        if estimate_micros(
            m.price_at(at), ask.prompt_tokens, n * output_reservation(ask.max_output, m.max_output)
        )
        <= cap
    )
    if not fitting:
        raise GatewayError(
            Code.COST_CAP,
            f"no model of `{route.requested}` can answer {n} choices within the cost cap",
            param="max_cost",
        )
    return Route(route.requested, fitting)
