"""planning's hot path on this machine: parsing and checking a 1,000-step plan and the
diff of two 1,000-step versions (the issue's targets: < 50 ms each).

It times the domain's `validate` (with an empty catalog lookup: every step here is a
wait, so nothing is looked up) and `diff`, as `handlers.checks` calls them.

python bench/planning.py [--steps N] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
from typing import Any
from uuid import uuid4

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_planning.domain.diff import diff
from agentsuite_planning.domain.lookup import Lookup
from agentsuite_planning.domain.validation import Limits, validate


def plan(steps: int, changed: int = -1) -> PlanSnapshot:
    def step(i: int) -> dict[str, Any]:
        return {
            "key": f"s{i}",
            "name": f"step {i}",
            "kind": "wait",
            "wait": {"duration_ms": 1000 + (i == changed)},
            "depends_on": [f"s{i - 1}"] if i else [],
        }

    phases = [{"key": "main", "name": "Main", "steps": [step(i) for i in range(steps)]}]
    return PlanSnapshot.model_validate(
        {"plan_id": uuid4(), "version": 1, "name": "bench", "goal": "g", "phases": phases}
    )


def best(rounds: int, work: Any) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    a, b = plan(args.steps), plan(args.steps, changed=args.steps // 2)
    check_ms = best(args.rounds, lambda: validate(a, Lookup(), limits=Limits()))
    diff_ms = best(args.rounds, lambda: diff(a, b))
    print(f"planning validate, {args.steps} steps: {check_ms:.1f} ms (best of {args.rounds})")
    print(f"planning diff, two {args.steps}-step versions: {diff_ms:.1f} ms")


if __name__ == "__main__":
    main()
