"""planning's hot path on this machine: parsing and checking a 1,000-step plan and the
diff of two 1,000-step versions (the issue's targets: < 50 ms each).

STUB until fix/plan-domain lands: it times `handlers.checks` (whose bodies call the
domain's validation and diff once merged).

python bench/planning.py [--steps N] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
from typing import Any
from uuid import uuid4

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_planning.handlers.checks import Limits, diff, structural


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
    check_ms = best(args.rounds, lambda: structural(a, Limits()))
    diff_ms = best(args.rounds, lambda: diff(a, b))
    print(
        f"planning structural check, {args.steps} steps: {check_ms:.1f} ms (best of {args.rounds})"
    )
    print(f"planning diff, two {args.steps}-step versions: {diff_ms:.1f} ms")


if __name__ == "__main__":
    main()
