"""What a step's `${...}` references and expressions may name: `inputs` (the keys of
`inputs_schema` when it is closed), `steps.<k>` only for a step k that finishes before it,
the map item inside a map body, `compensated` in a compensation. Parsed with the kit's
expression language (its `paths` walker), never a second parser."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import PlanStep
from agentsuite_kit.expressions import ExpressionError, parse, paths
from agentsuite_kit.expressions.syntax import Path, template
from agentsuite_kit.plans import Shape

Add = Callable[[str, str, str | None, str | None], None]
Named = tuple[str, Any, str]


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
        # (expression?, text) -> what its references name: a plan repeats `${item}`, ...
        self.parsed: dict[tuple[bool, str], list[Named]] = {}
        # a parallel step -> the steps of its branches: they finish before it does
        self.inside: dict[str, int] = {}
        for key in found.order:
            self.done[key] = self._after(key)
            parent = found.vertices[key].parent
            if parent is not None:
                self.inside[parent] = (
                    self.inside.get(parent, 0) | self.bit[key] | self.inside.get(key, 0)
                )

    def _after(self, key: str) -> int:
        v = self.found.vertices[key]
        mask = 0
        for dep in v.depends_on:
            mask |= self.done.get(dep, 0) | self.bit[dep] | self.inside.get(dep, 0)
        if v.gated and v.parent is not None:
            mask |= self.started(v.parent)
        return mask

    def started(self, key: str) -> int:
        """Steps finished before `key` starts (its own dependencies' closure)."""
        v = self.found.vertices[key]
        mask = 0
        for dep in v.depends_on:
            mask |= self.done.get(dep, 0) | self.bit[dep] | self.inside.get(dep, 0)
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
    """The strings holding `${` in `value`, with their paths (built only for those and the
    containers on the way: most of a step's input is plain literals)."""
    if isinstance(value, str):
        return [(path, value)] if "${" in value else []
    if not isinstance(value, dict | list):
        return []
    out: list[tuple[str, str]] = []
    todo = [(path, value)]
    while todo:
        where, v = todo.pop()
        pairs = v.items() if isinstance(v, dict) else enumerate(v)
        for k, x in pairs:
            if isinstance(x, str):
                if "${" in x:
                    out.append((f"{where}.{k}" if isinstance(v, dict) else f"{where}[{k}]", x))
            elif isinstance(x, dict | list) and x:
                todo.append((f"{where}.{k}" if isinstance(v, dict) else f"{where}[{k}]", x))
    return out


def check_expressions(s: PlanStep, path: str, scopes: Scopes, add: Add) -> None:
    parsed: list[tuple[str, list[Named]]] = []
    for where, value in _texts(s, path):
        for at, text in _strings(value, where):
            _parsed(parsed, scopes.parsed, s.key, at, text, False, add)
    if s.condition is not None:
        _parsed(
            parsed,
            scopes.parsed,
            s.key,
            f"{path}.condition.expression",
            s.condition.expression,
            True,
            add,
        )
    if s.map is not None:
        _parsed(parsed, scopes.parsed, s.key, f"{path}.map.items", s.map.items, True, add)
    if not parsed:
        return
    mask = scopes.upstream(s.key)
    extra = scopes.names(s.key)
    for at, refs in parsed:
        for head, first, text in refs:
            if head == "steps" and mask & scopes.bit.get(first, 0):  # the common case first
                continue
            why = _unknown(head, first, mask, extra, scopes)
            if why is not None:
                add("unknown_reference", f"step {s.key!r}: {text} {why}", s.key, at)


def _parsed(
    into: list[tuple[str, list[Named]]],
    memo: dict[tuple[bool, str], list[Named]],
    key: str,
    at: str,
    text: str,
    whole: bool,
    add: Add,
) -> None:
    """`text` as a template (`whole`: an expression), its references appended to `into`."""
    try:
        found = memo.get((whole, text))
        if found is None:
            # a template's references are its Path parts, flat (`paths` would walk them
            # again for nested ones, which only an expression has)
            refs = (
                paths(parse(text)) if whole else (p for p in template(text) if isinstance(p, Path))
            )
            found = memo[whole, text] = _named(refs)
        into.append((at, found))
    except ExpressionError as exc:
        add("invalid_expression", str(exc), key, at)


def _named(refs: Iterable[Path]) -> list[Named]:
    """(scope name, its first key, the reference as written), once per name and key; a
    computed head (`(a)[0]`) is left out: its own paths are among `refs`."""
    seen: dict[tuple[str, Any], Named] = {}
    for ref in refs:
        if isinstance(ref.head, str):
            first = ref.keys[0] if ref.keys else None
            seen.setdefault((ref.head, first), (ref.head, first, ref.text))
    return list(seen.values())


def _unknown(head: str, first: Any, mask: int, extra: set[str], scopes: Scopes) -> str | None:
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
