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
from agentsuite_kit.expressions.syntax import Path, template_paths
from agentsuite_kit.plans import Shape

Add = Callable[[str, str, str | None, str | None], None]
_DEEP = 20  # nesting read by recursion; deeper inputs by a loop


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
        # an expression -> its references: a plan repeats conditions and map items
        self.parsed: dict[str, list[Path]] = {}
        self.known: dict[str, Path] = {}  # a plain reference as written -> its Path
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


def _texts(s: PlanStep) -> list[tuple[str, Any]]:
    """The step's fields that hold `${...}` templates, with their paths under the step's."""
    found: list[tuple[str, Any]] = []
    if s.tool is not None:
        found.append((".tool.input", s.tool.input))
    if s.llm is not None:
        found += [(".llm.prompt", s.llm.prompt), (".llm.system", s.llm.system)]
    if s.agent is not None:
        found += [(".agent.task", s.agent.task), (".agent.input", s.agent.input)]
    if s.subplan is not None:
        found.append((".subplan.inputs", s.subplan.inputs))
    if s.approval is not None:
        found.append((".approval.prompt", s.approval.prompt))
    return found


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    """The strings holding `${` in `value`, with their paths (spelled out only for those:
    most of a step's input is plain literals)."""
    if isinstance(value, str):
        return [(path, value)] if "${" in value else []
    if not value or not isinstance(value, dict | list):
        return []
    return [(path + at, text) for at, text in _inside(value, 0)]


def _inside(value: Any, depth: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    spell = ".{}".format if isinstance(value, dict) else "[{}]".format
    for k, x in pairs:
        if isinstance(x, str):
            if "${" in x:
                out.append((spell(k), x))
        elif x and isinstance(x, dict | list) and _holds(x):
            out += [(spell(k) + at, text) for at, text in _nested(x, depth)]
    return out


def _holds(value: Any) -> bool:
    """Whether a `${` is somewhere in `value`: repr in C beats walking the literals (a key
    holding `${` counts too, which only costs that value a walk)."""
    try:
        return "${" in repr(value)
    except RecursionError:  # nested thousands deep: walked by `_nested`'s loop
        return True


def _nested(value: Any, depth: int) -> list[tuple[str, str]]:
    if depth < _DEEP:
        return _inside(value, depth + 1)
    # deeper than plans nest: a loop, not the stack (a stored input may be thousands deep)
    out: list[tuple[str, str]] = []
    todo: list[tuple[str, Any]] = [("", value)]
    while todo:
        where, v = todo.pop()
        pairs = v.items() if isinstance(v, dict) else enumerate(v)
        for k, x in pairs:
            at = f"{where}.{k}" if isinstance(v, dict) else f"{where}[{k}]"
            if isinstance(x, str):
                if "${" in x:
                    out.append((at, x))
            elif isinstance(x, dict | list) and x:
                todo.append((at, x))
    return out


def check_expressions(s: PlanStep, path: str, scopes: Scopes, add: Add) -> None:
    parsed = _collect(s, path, scopes, add)
    if not parsed:
        return
    mask = scopes.upstream(s.key)
    bit = scopes.bit
    open_inputs = scopes.inputs is None
    for at, refs in parsed:
        for ref in refs:  # the common references first; any other has the text rechecked
            head, keys = ref.head, ref.keys
            if head == "steps":
                if keys and mask & bit.get(keys[0], 0):  # type: ignore[arg-type]  # a Node key is hashable; it gets 0
                    continue
            elif head == "inputs" and open_inputs:
                continue
            _report(s.key, at, refs, mask, scopes, add)
            break


def _collect(s: PlanStep, path: str, scopes: Scopes, add: Add) -> list[tuple[str, list[Path]]]:
    """(path, its references) of each text of the step holding any."""
    parsed: list[tuple[str, list[Path]]] = []
    for where, value in _texts(s):
        # the path is spelled out only for a string holding a reference: most fields of
        # most steps hold none
        for at, text in _strings(value, where):
            _parsed(parsed, scopes, s.key, path + at, text, False, add)
    if s.condition is not None:
        at = f"{path}.condition.expression"
        _parsed(parsed, scopes, s.key, at, s.condition.expression, True, add)
    if s.map is not None:
        _parsed(parsed, scopes, s.key, f"{path}.map.items", s.map.items, True, add)
    return parsed


def _report(key: str, at: str, refs: list[Path], mask: int, scopes: Scopes, add: Add) -> None:
    """The unknown references of one text, once per name and first key."""
    extra = scopes.names(key)
    told: set[tuple[str, Any]] = set()
    for ref in refs:
        if not isinstance(ref.head, str):  # a computed head: its own paths are in `refs`
            continue
        first = ref.keys[0] if ref.keys else None
        if (ref.head, first) in told:
            continue
        told.add((ref.head, first))
        why = _unknown(ref.head, first, mask, extra, scopes)
        if why is not None:
            add("unknown_reference", f"step {key!r}: {ref.text} {why}", key, at)


def _parsed(
    into: list[tuple[str, list[Path]]],
    scopes: Scopes,
    key: str,
    at: str,
    text: str,
    whole: bool,
    add: Add,
) -> None:
    """`text` as a template (`whole`: an expression), its references appended to `into`."""
    try:
        if not whole:  # a template's references are its Path parts, flat
            into.append((at, template_paths(text, scopes.known)))
            return
        found = scopes.parsed.get(text)
        if found is None:  # an expression's, nested ones (`a[b.c]`) too
            found = scopes.parsed[text] = list(paths(parse(text)))
        into.append((at, found))
    except ExpressionError as exc:
        add("invalid_expression", str(exc), key, at)


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
