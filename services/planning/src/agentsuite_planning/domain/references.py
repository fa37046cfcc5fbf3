"""What a step's `${...}` references and expressions may name: `inputs` (the keys of
`inputs_schema` when it is closed), `steps.<k>` only for a step k that finishes before it,
the map item inside a map body, `compensated` in a compensation. Parsed with the kit's
expression language (its `paths` walker), never a second parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import PlanStep
from agentsuite_kit.expressions import ExpressionError, parse, paths
from agentsuite_kit.expressions.syntax import Path
from agentsuite_kit.plans import Shape

Add = Callable[[str, str, str | None, str | None], None]


class Scopes:
    """What a step's references may name: `steps.<k>` only for k upstream of it."""

    def __init__(self, plan: PlanSnapshot, found: Shape) -> None:
        self.found = found
        self.bit = {k: 1 << i for i, k in enumerate(found.steps)}
        inputs = plan.inputs_schema
        closed = inputs.get("additionalProperties") is False and isinstance(
            inputs.get("properties"), dict
        )
        self.inputs: set[str] | None = set(inputs["properties"]) if closed else None
        self.compensates: dict[str, list[str]] = {}
        for _, s in found.steps.values():
            if s.compensation is not None:
                self.compensates.setdefault(s.compensation, []).append(s.key)
        self.done: dict[str, int] = {}  # a vertex -> its upstream steps, as a bit set
        for key in found.order:
            self.done[key] = self._after(key)

    def _after(self, key: str) -> int:
        v = self.found.vertices[key]
        mask = 0
        for dep in v.depends_on:
            mask |= self.done.get(dep, 0) | self.bit[dep]
        if v.gated and v.parent is not None:
            mask |= self.started(v.parent)
        return mask

    def started(self, key: str) -> int:
        """Steps finished before `key` starts (its own dependencies' closure)."""
        v = self.found.vertices[key]
        mask = 0
        for dep in v.depends_on:
            mask |= self.done.get(dep, 0) | self.bit[dep]
        return mask

    def upstream(self, key: str) -> int:
        if key in self.found.bodies:  # an item runs after the map starts, its body in order
            owner = self.found.bodies[key]
            mask = self.started(owner) if owner in self.found.vertices else 0
            spec = self.found.steps[owner][1].map
            for earlier in spec.body if spec is not None else []:
                if earlier == key:
                    break
                mask |= self.bit.get(earlier, 0)
            return mask
        if key in self.compensates:  # it undoes steps: it sees what they saw and them
            mask = 0
            for undone in self.compensates[key]:
                mask |= self.upstream(undone) | self.bit[undone]
            return mask
        return self.done[key] if key in self.done else self.started(key)

    def names(self, key: str) -> set[str]:
        """Scope names other than `inputs` and `steps` the step may reference."""
        names = set()
        if key in self.found.bodies:
            spec = self.found.steps[self.found.bodies[key]][1].map
            names.add(spec.item_var if spec is not None else "item")
        if key in self.compensates:
            names.add("compensated")
        return names


def _texts(s: PlanStep, path: str) -> list[tuple[str, Any]]:
    """The step's fields that hold `${...}` templates, with their paths."""
    found: list[tuple[str, Any]] = []
    if s.tool is not None:
        found.append((f"{path}.tool.input", s.tool.input))
    if s.llm is not None:
        found += [(f"{path}.llm.prompt", s.llm.prompt), (f"{path}.llm.system", s.llm.system)]
    if s.agent is not None:
        found += [(f"{path}.agent.task", s.agent.task), (f"{path}.agent.input", s.agent.input)]
    if s.subplan is not None:
        found.append((f"{path}.subplan.inputs", s.subplan.inputs))
    if s.approval is not None:
        found.append((f"{path}.approval.prompt", s.approval.prompt))
    return found


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    todo = [(path, value)]
    while todo:
        where, v = todo.pop()
        if isinstance(v, str):
            if "${" in v:
                out.append((where, v))
        elif isinstance(v, dict):
            todo.extend((f"{where}.{k}", x) for k, x in v.items())
        elif isinstance(v, list):
            todo.extend((f"{where}[{i}]", x) for i, x in enumerate(v))
    return out


def check_expressions(s: PlanStep, path: str, scopes: Scopes, add: Add) -> None:
    parsed: list[tuple[str, list[Path]]] = []
    for where, value in _texts(s, path):
        for at, text in _strings(value, where):
            _parsed(parsed, s.key, at, text, False, add)
    if s.condition is not None:
        _parsed(parsed, s.key, f"{path}.condition.expression", s.condition.expression, True, add)
    if s.map is not None:
        _parsed(parsed, s.key, f"{path}.map.items", s.map.items, True, add)
    if not parsed:
        return
    mask = scopes.upstream(s.key)
    extra = scopes.names(s.key)
    for at, refs in parsed:
        for ref in refs:
            why = _unknown(ref, mask, extra, scopes)
            if why is not None:
                add("unknown_reference", f"step {s.key!r}: {ref.text} {why}", s.key, at)


def _parsed(
    into: list[tuple[str, list[Path]]], key: str, at: str, text: str, whole: bool, add: Add
) -> None:
    """`text` as a template (`whole`: an expression), its references appended to `into`."""
    try:
        into.append((at, list(paths(parse(text) if whole else text))))
    except ExpressionError as exc:
        add("invalid_expression", str(exc), key, at)


def _unknown(ref: Path, mask: int, extra: set[str], scopes: Scopes) -> str | None:
    head, first = ref.head, (ref.keys[0] if ref.keys else None)
    if not isinstance(head, str):
        return None  # a computed head (`(a)[0]`): its own paths are checked on their own
    if head == "steps":
        if not isinstance(first, str):
            return None if first is not None else "names no step"
        bit = scopes.bit.get(first)
        if bit is None:
            return f"names unknown step {first!r}"
        return None if mask & bit else f"names step {first!r}, which does not finish before it"
    if head == "inputs":
        known = scopes.inputs
        if known is None or not isinstance(first, str) or first in known:
            return None
        return f"names input {first!r}, not in the plan's inputs_schema"
    if head in extra:
        return None
    scope = ", ".join(["inputs", "steps", *sorted(extra)])
    return f"names {head!r}: only {scope} are in scope here"
