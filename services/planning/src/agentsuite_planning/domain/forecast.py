"""What one run of a plan version is expected to cost, in integer micro-units.

With at least MIN_RUNS past runs of the plan, their totals say it (p50/p95). Otherwise the
plan is priced step by step: a step's own past costs when it has them, else an estimate
from the model's price (llm: `max_tokens`, or DEFAULT_OUTPUT_TOKENS, output tokens plus the
prompt's length / 4 input tokens; agent: that times `max_turns`); a map body counts
`max_items` times (DEFAULT_ITEMS when unset). Steps that may spend but cannot be priced are
named in `unpriced` and left out of the figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agentsuite_contracts.common import Money
from agentsuite_contracts.planning import CostForecast, PlanSnapshot
from agentsuite_contracts.steps import PlanStep
from agentsuite_kit.plans import MAX_LIMIT

MIN_RUNS = 5
DEFAULT_OUTPUT_TOKENS = 1_000
DEFAULT_ITEMS = 10
DEFAULT_TURNS = 10
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Price:
    input_micros_per_mtok: int
    output_micros_per_mtok: int
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class History:
    run_costs: Sequence[int] = ()
    step_costs: Mapping[str, Sequence[int]] = field(default_factory=dict)


def percentile(values: Sequence[int], p: float) -> int:
    """Nearest-rank percentile (p in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered)))
    return ordered[rank - 1]


def forecast(
    plan: PlanSnapshot, prices: Mapping[str, Price], history: History, *, currency: str = "USD"
) -> CostForecast:
    runs = len(history.run_costs)
    if runs >= MIN_RUNS:
        return CostForecast(
            p50=Money(amount_micros=percentile(history.run_costs, 0.5), currency=currency),
            p95=Money(amount_micros=percentile(history.run_costs, 0.95), currency=currency),
            runs=runs,
        )
    same = {m: p for m, p in prices.items() if p.currency == currency}
    dearest = max(same.values(), key=lambda p: p.output_micros_per_mtok, default=None)
    times = _multipliers(plan)
    p50 = p95 = 0
    unpriced: list[str] = []
    for phase in plan.phases:
        for s in phase.steps:
            n = times.get(s.key, 1)
            past = history.step_costs.get(s.key)
            if past:
                p50 += n * percentile(past, 0.5)
                p95 += n * percentile(past, 0.95)
                continue
            cost = _estimate(s, same, dearest)
            if cost is None:
                unpriced.append(s.key)
            else:
                p50 += n * cost
                p95 += n * cost
    # absurd token counts or map sizes must not forecast more than a money column (or a
    # budget, see `out_of_range`) holds: past that, "at least the most any budget allows"
    return CostForecast(
        p50=Money(amount_micros=min(p50, MAX_LIMIT), currency=currency),
        p95=Money(amount_micros=min(p95, MAX_LIMIT), currency=currency),
        runs=runs,
        unpriced=unpriced,
    )


def _multipliers(plan: PlanSnapshot) -> dict[str, int]:
    times: dict[str, int] = {}
    for phase in plan.phases:
        for s in phase.steps:
            if s.map is not None:
                for key in s.map.body:
                    times[key] = s.map.max_items or DEFAULT_ITEMS
    return times


def _estimate(s: PlanStep, prices: Mapping[str, Price], dearest: Price | None) -> int | None:
    """Micro-units one run of `s` may cost: 0 for steps that spend nothing, None when it
    may spend but cannot be priced."""
    if s.llm is not None:
        price = prices.get(s.llm.model) if s.llm.model else dearest
        if price is None:
            return None
        text = len(s.llm.prompt) + len(s.llm.system or "")
        return _tokens(price, text // CHARS_PER_TOKEN, s.llm.max_tokens or DEFAULT_OUTPUT_TOKENS)
    if s.agent is not None:
        if dearest is None:
            return None
        one = _tokens(dearest, len(s.agent.task) // CHARS_PER_TOKEN, DEFAULT_OUTPUT_TOKENS)
        return one * (s.agent.max_turns or DEFAULT_TURNS)
    if s.tool is not None or s.subplan is not None:
        return None  # spends what the tool or subplan spends: known from history only
    return 0


def _tokens(price: Price, input_tokens: int, output_tokens: int) -> int:
    total = (
        input_tokens * price.input_micros_per_mtok + output_tokens * price.output_micros_per_mtok
    )
    return -(-total // 1_000_000)  # rounded up: a forecast errs on the dear side
