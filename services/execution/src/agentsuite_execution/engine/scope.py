"""What a step's references see: the run's inputs, the outputs of the steps it names, its
map item (or the output it compensates)."""

from __future__ import annotations

import json
from typing import Any

from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.expressions import parse, references


def needs_scope(step: Step) -> bool:
    """Whether the step's spec references anything (a plain builtin call does not)."""
    return step.item is not None or "${" in _text(step.spec)


async def scope_for(uow: ExecutionUow, run: Run, step: Step) -> dict[str, Any]:
    named = sorted(references(step.spec) | _expression_references(step))
    item = step.item or {}
    index = item.get("index")
    body: set[str] = set()
    if step.parent is not None and index is not None:
        for phase in (await uow.executions.snapshot(run.execution_id)).phases:
            for candidate in phase.steps:
                if candidate.key == step.parent and candidate.map is not None:
                    body = set(candidate.map.body)
    # inside a map item, a body step's name means this item's instance of it
    rows = {k: (f"{k}[{index}]" if k in body else k) for k in named}
    found = await uow.steps.outputs(run.execution_id, list(rows.values()))
    steps = {
        k: {"output": found[row].output, "state": found[row].state}
        for k, row in rows.items()
        if row in found
    }
    scope: dict[str, Any] = {"inputs": run.inputs, "steps": steps}
    if item.get("var"):
        scope[item["var"]] = item.get("value")
    return scope


def _expression_references(step: Step) -> set[str]:
    # a condition (and a map's items) may name steps as bare paths, outside `${}`
    spec = step.spec
    found: set[str] = set()
    for text in (
        (spec.get("condition") or {}).get("expression"),
        (spec.get("map") or {}).get("items"),
    ):
        if isinstance(text, str):
            found |= references(parse(text))
    return found


def _text(value: Any) -> str:
    return json.dumps(value)
