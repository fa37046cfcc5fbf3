"""Which steps are instant builtins: run inside the transaction that holds them (see
engine/local.py), so a transaction that makes one ready may take it on at once."""

from __future__ import annotations

from agentsuite_contracts.steps import StepKind
from agentsuite_execution.domain.runs import Step

INSTANT = frozenset({"noop", "echo", "template", "merge", "fail"})
INSTANT_TOOLS = sorted(f"builtin.{name}" for name in INSTANT)


def inline(step: Step) -> bool:
    """Whether `step` is an instant builtin (run inside the transaction that holds it)."""
    if step.kind != StepKind.TOOL:
        return False
    tool = (step.spec.get("tool") or {}).get("tool", "")
    return isinstance(tool, str) and tool.startswith("builtin.") and tool[8:] in INSTANT
