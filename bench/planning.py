"""planning's domain on this machine: validating a 1,000-step plan and diffing two versions.

    python bench/planning.py [--steps 1000] [--runs 30]
    python bench/planning.py --quick     # CI: a few seconds

The plan is realistic, not empty steps: tool steps whose inputs mix literals and `${...}`
references (checked against each tool's input schema), llm steps whose prompts reference
upstream outputs, conditions with expressions, maps with bodies, parallel fan-outs,
approvals, dependencies across phases. Validation is all of it: the kit's structural rules
(keys, references, containers, the cycle check), the catalog lookups and the binding schema
checks, parsing every `${...}` and condition, the upstream check of each reference and the
size check. The diff compares it with a second version where ~5% of the steps were edited,
some added, removed and moved.

Printed: median and p95 of wall and CPU time over `--runs` runs of each, whether each target
(< 50 ms) holds, and the load average (wall time on a loaded box is mostly waiting). Also the
kit's `plans.shape`, which execution's compile_plan runs at each run's start. With `--http`
(embedded PostgreSQL and broker, see bench/planning_http.py): `POST .../validate` of the
same plan through the real app, and where that request's time goes. Nothing asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from agentsuite_contracts.planning import PlanPhase, PlanSnapshot  # noqa: E402  # after the path insert
from agentsuite_contracts.steps import (  # noqa: E402  # after the path insert
    ApprovalStep,
    ConditionStep,
    LlmStep,
    MapStep,
    ParallelStep,
    PlanStep,
    StepKind,
    ToolStep,
)
from agentsuite_kit.plans import shape  # noqa: E402  # after the path insert
from agentsuite_planning.domain.diff import diff  # noqa: E402  # after the path insert
from agentsuite_planning.domain.lookup import (  # noqa: E402  # after the path insert
    Lookup,
    ToolEntry,
    ToolVersion,
)
from agentsuite_planning.domain.validation import validate  # noqa: E402  # after the path insert

TARGET_MS = 50.0
TOOLS = 20


def tool_schema(n: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "query": {"type": "string", "maxLength": 500},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            "tags": {"type": "array", "items": {"type": "string"}},
            "options": {
                "type": "object",
                "properties": {"mode": {"enum": ["fast", "full"]}, "retries": {"type": "integer"}},
            },
            f"extra{n}": {"type": "boolean"},
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def catalog() -> Lookup:
    tools = {
        f"tool{n}": ToolEntry(
            f"tool{n}",
            latest="1.2.0",
            versions={"1.2.0": ToolVersion("1.2.0", False, tool_schema(n))},
        )
        for n in range(TOOLS)
    }
    return Lookup(tools=tools)


def make_plan(steps: int, seed: int) -> PlanSnapshot:
    rng = random.Random(seed)
    made: list[PlanStep] = []
    plain: list[str] = []  # steps others may depend on and reference
    i = 0
    while i < steps:
        key = f"s{i}"
        deps = rng.sample(plain[-30:], k=min(len(plain[-30:]), rng.randint(0, 2)))
        ref = f"${{steps.{deps[0]}.output.items[0].name}}" if deps else "${inputs.customer.id}"
        roll = rng.random()
        if roll < 0.05 and i + 3 < steps:  # a condition choosing between two tool steps
            a, b = f"s{i + 1}", f"s{i + 2}"
            expr = f"steps.{deps[0]}.output.score > 3 and len(inputs.tags) < 10" if deps else "true"
            made.append(
                _step(
                    key,
                    StepKind.CONDITION,
                    deps,
                    condition=ConditionStep(expression=expr, if_true=[a], if_false=[b]),
                )
            )
            made += [_tool(a, [], ref, rng), _tool(b, [], ref, rng)]
            plain += [key]
            i += 3
            continue
        if roll < 0.08 and i + 3 < steps:  # a map over an upstream list, two body steps
            a, b = f"s{i + 1}", f"s{i + 2}"
            items = f"${{steps.{deps[0]}.output.items}}" if deps else "${inputs.rows}"
            made.append(
                _step(key, StepKind.MAP, deps, map=MapStep(items=items, body=[a, b], max_items=50))
            )
            made.append(_tool(a, [], "${item.name}", rng))
            made.append(
                _step(
                    b,
                    StepKind.LLM,
                    [],
                    llm=LlmStep(
                        prompt=f"Summarise ${{item}} after ${{steps.{a}.output}}", max_tokens=300
                    ),
                )
            )
            plain += [key]
            i += 3
            continue
        if roll < 0.11 and i + 3 < steps:  # a parallel fan-out of two branches
            a, b = f"s{i + 1}", f"s{i + 2}"
            made.append(
                _step(key, StepKind.PARALLEL, deps, parallel=ParallelStep(branches=[[a], [b]]))
            )
            made += [_tool(a, [], ref, rng), _tool(b, [], ref, rng)]
            plain += [key]
            i += 3
            continue
        if roll < 0.12:
            made.append(
                _step(
                    key,
                    StepKind.APPROVAL,
                    deps,
                    approval=ApprovalStep(
                        prompt=f"Send {ref}?", approvers=["role:ops", str(uuid4())]
                    ),
                )
            )
        elif roll < 0.45:
            prompt = f"Given {ref} and ${{inputs.goal}}, write the next message for {key}. " * 3
            made.append(
                _step(
                    key,
                    StepKind.LLM,
                    deps,
                    llm=LlmStep(prompt=prompt, system="You are careful.", max_tokens=800),
                )
            )
        else:
            made.append(_tool(key, deps, ref, rng))
        plain.append(key)
        i += 1
    per = max(1, len(made) // 10)
    phases = [
        PlanPhase(
            key=f"phase{p}",
            name=f"Phase {p}",
            steps=made[p * per : (p + 1) * per if p < 9 else None],
        )
        for p in range(10)
    ]
    return PlanSnapshot(plan_id=uuid4(), version=1, name="bench", goal="a big plan", phases=phases)


def _step(key: str, kind: StepKind, deps: list[str], **block: Any) -> PlanStep:
    return PlanStep(key=key, name=key.upper(), kind=kind, depends_on=deps, **block)


def _tool(key: str, deps: list[str], ref: str, rng: random.Random) -> PlanStep:
    data = {
        "query": f"find {ref} in the index",
        "url": ref,
        "limit": rng.randint(1, 100),
        "tags": ["a", "b", "c"],
        "options": {"mode": "fast", "retries": 2},
    }
    return _step(
        key, StepKind.TOOL, deps, tool=ToolStep(tool=f"tool{rng.randrange(TOOLS)}", input=data)
    )


def edited(plan: PlanSnapshot, seed: int) -> PlanSnapshot:
    """~5% of steps edited, a few removed (leaves only), added and moved within a phase."""
    rng = random.Random(seed)
    phases = []
    for p, phase in enumerate(plan.phases):
        steps = list(phase.steps)
        for n, s in enumerate(steps):
            if s.tool is not None and rng.random() < 0.05:
                data = {**s.tool.input, "limit": 999}
                steps[n] = s.model_copy(update={"tool": s.tool.model_copy(update={"input": data})})
        if len(steps) > 4:
            steps.insert(2, steps.pop(rng.randrange(3, len(steps))))
        steps.append(_step(f"new{p}", StepKind.LLM, [], llm=LlmStep(prompt="added")))
        phases.append(
            phase.model_copy(
                update={"steps": steps, "name": f"{phase.name}!" if p == 3 else phase.name}
            )
        )
    return plan.model_copy(update={"phases": phases, "version": plan.version + 1, "goal": "edited"})


def measure(runs: int, work: Callable[[], Any]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each run (CPU time says what a busy box's wall hides)."""
    wall, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        work()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def line(name: str, measured: tuple[list[float], list[float]], target: float | None) -> str:
    wall, cpu = measured
    text = (
        f"{name:<34} wall median {statistics.median(wall):6.2f} p95 {p95(wall):6.2f} ms  "
        f"cpu median {statistics.median(cpu):6.2f} p95 {p95(cpu):6.2f} ms"
    )
    if target is None:
        return text
    verdict = {True: "holds", False: "MISSED"}
    return (
        f"{text}  target < {target:.0f} ms: wall {verdict[statistics.median(wall) < target]}, "
        f"cpu {verdict[statistics.median(cpu) < target]}"
    )


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="CI: 10 runs")
    parser.add_argument(
        "--http", action="store_true", help="also the validate route through the real app"
    )
    args = parser.parse_args()
    runs = 10 if args.quick else args.runs
    a = make_plan(args.steps, seed=1)
    b = edited(a, seed=2)
    lookup = catalog()
    issues = validate(a, lookup)
    errors = [i for i in issues if i.severity == "error"]
    if errors:  # the bench plan must be valid, or it measures the error path
        raise SystemExit(f"bench plan invalid: {errors[:3]}")
    changes = diff(a, b).changes
    steps = sum(len(p.steps) for p in a.phases)
    kinds = Counter(str(s.kind) for p in a.phases for s in p.steps)
    print(f"planning: {steps}-step plan ({dict(sorted(kinds.items()))}), {len(issues)} warnings;")
    print(f"  diff: {len(changes)} changes; {load()}; {runs} runs each")
    measure(2, lambda: validate(a, lookup))  # warm-up: schema validators, regexes
    print(line(f"validate ({steps} steps)", measure(runs, lambda: validate(a, lookup)), TARGET_MS))
    other = sum(len(p.steps) for p in b.phases)
    print(line(f"diff ({steps} vs {other} steps)", measure(runs, lambda: diff(a, b)), TARGET_MS))
    # what execution runs at each run's start (compile_plan): the kit's structural rules
    shaped = measure(runs, lambda: shape(a, max_steps=steps))
    print(line("kit plans.shape (run start)", shaped, None))
    if args.http:
        from bench.planning_http import measure_http  # embedded servers only on --http

        measure_http(a, runs=max(3, runs // 3))
    print(load())


if __name__ == "__main__":
    main()
