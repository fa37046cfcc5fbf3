"""The expression language plans use: `${...}` references in step inputs and condition/map
expressions. Shared by execution, planning and discovery (activation rules), so a plan means
the same thing in each.

A reference names a scope value and a path into it: `${inputs.customer.id}`,
`${steps.fetch-leads.output.items[0].name}`, `${item}`. Inside `${}` a key is any run of
characters but `.[](){}$`, quotes and spaces; `["a.b"]` reaches any other key.

Lookup rules (the same in `render` and `evaluate`):
- an unknown top-level name, or a step not in `scope["steps"]`, is an ExpressionError:
  a typo must not pass silently;
- anything missing below that (a key an object lacks, an index out of range, a key on a
  non-object) is null, and null stays null further down: outputs are loosely shaped, and
  `exists(...)` or `== null` is how a plan tests for them. A digit key on a list indexes it.

Expressions (see `expression_syntax`): literals, references as `${...}` or bare paths
(`steps.score.output.value`), indexing, arithmetic, comparison, `in`, and/or/not and
len/lower/upper/contains/startswith/exists. Types are JSON's: `true` is not `1`, ordering
needs two numbers or two strings, `+` adds numbers or joins two strings or two lists;
anything else is an ExpressionError, as is a result too large for a JSON number (an
integer past a double's range included) or a string or list past MAX_TEXT / MAX_ITEMS.
Evaluation walks the tree once (no loops in the language), as deep as its nesting.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterator, Mapping
from typing import Any

from agentsuite_kit.expressions.syntax import (
    COMPARISONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Call,
    Chain,
    ExpressionError,
    ListOf,
    Literal,
    Node,
    Path,
    Unary,
    parse,
    quote,
    template,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_INT",
    "MAX_ITEMS",
    "MAX_LENGTH",
    "MAX_TEXT",
    "ExpressionError",
    "Node",
    "Scope",
    "evaluate",
    "parse",
    "paths",
    "references",
    "render",
    "truthy",
]

Scope = Mapping[str, Any]
# what one operation may build. Its operands come from outside (step outputs, a model's
# answers) and a chain repeats it hundreds of times in MAX_LENGTH characters: unbounded,
# `a * a * ...` over a 4,000-digit integer made millions of digits (seconds of CPU) and
# `a + a + ...` over a long list tens of millions of items. An integer a double cannot hold
# is "too large for a JSON number", like an infinite float.
MAX_INT = 2**1024
MAX_TEXT = 1_000_000
MAX_ITEMS = 100_000


def render(value: Any, scope: Scope) -> Any:
    """`value` with its references replaced: a string that is exactly one `${ref}` becomes
    the value (any type), other references are interpolated as text (JSON unless a string).
    Walks lists and dict values (keys are left as written)."""
    try:
        return _render(value, scope)
    except RecursionError:  # a value nested thousands deep, to walk or to write as JSON
        raise ExpressionError("value too deeply nested to render") from None


def _render(value: Any, scope: Scope) -> Any:
    if isinstance(value, dict):
        return {k: _render(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, scope) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    parts = template(value)
    if len(parts) == 1 and isinstance(parts[0], Path):
        return _resolve(parts[0], scope)
    out = []
    for part in parts:
        v = part if isinstance(part, str) else _resolve(part, scope)
        out.append(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
    return "".join(out)


def paths(value: Any) -> Iterator[Path]:
    """Every reference in `value`: in `${...}` of its strings (walking lists and dicts), or
    anywhere in a parsed expression (a Node), nested ones (`a[b.c]`) included."""
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, list | tuple):
            todo.extend(v)
        elif isinstance(v, str) and "${" in v:
            todo.extend(p for p in template(v) if isinstance(p, Path))
        elif isinstance(v, Path):
            yield v
            todo.extend(k for k in (v.head, *v.keys) if not isinstance(k, str | int))
        elif isinstance(v, ListOf | Call):
            todo.extend(v.items if isinstance(v, ListOf) else v.args)
        elif isinstance(v, Unary):
            todo.append(v.operand)
        elif isinstance(v, Chain):
            todo.extend([v.first, *(x for _, x in v.rest)])


def references(value: Any) -> set[str]:
    """Keys of the steps that `value` references as `steps.<key>` (see `paths`)."""
    return {
        p.keys[0]
        for p in paths(value)
        if p.head == "steps" and p.keys and isinstance(p.keys[0], str)
    }


def evaluate(expression: str, scope: Scope) -> Any:
    """The value of `expression` over `scope`; only ExpressionError escapes."""
    try:
        return _evaluate(parse(expression), scope)
    except RecursionError:  # deeply nested data compared or copied, not the expression
        raise ExpressionError(f"value too deeply nested in {quote(expression)}") from None


def truthy(value: Any) -> bool:
    """Whether a condition holds: Python truthiness (null, false, 0, "", [], {} do not)."""
    return bool(value)


def _kind(v: Any) -> str:
    if v is None or isinstance(v, bool):
        return "null" if v is None else "boolean"
    if isinstance(v, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "list", dict: "object"}
    return names.get(type(v)) or type(v).__name__


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, unlike Python's."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b) and (_number(a) == _number(b))


def _member(a: Any, b: Any, op: str) -> bool:
    if isinstance(b, str) and isinstance(a, str):
        return a in b
    if isinstance(b, list):
        return any(_same(a, x) for x in b)
    if isinstance(b, dict):
        return isinstance(a, str) and a in b
    raise ExpressionError(f"cannot apply {op!r} to {_kind(a)} and {_kind(b)}")


def _get(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key) if isinstance(key, str) else None
    if isinstance(value, list):
        if isinstance(key, str) and key.isascii() and key.isdigit():
            key = int(key)
        if isinstance(key, int) and -len(value) <= key < len(value):
            return value[key]
    return None


def _resolve(path: Path, scope: Scope) -> Any:
    if isinstance(path.head, str):
        if path.head not in scope:
            raise ExpressionError(f"unknown name {path.head!r} in {path.text}")
        value = scope[path.head]
    else:
        value = _evaluate(path.head, scope)
    for n, key in enumerate(path.keys):
        if not isinstance(key, str | int):
            key = _evaluate(key, scope)
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise ExpressionError(f"cannot index with a {_kind(key)} in {path.text}")
        if n == 0 and path.head == "steps" and not (isinstance(value, Mapping) and key in value):
            hint = "" if path.text.startswith("$") else " (a key with `-` needs ${steps.<key>})"
            raise ExpressionError(f"unknown step {key!r} in {path.text}{hint}")
        value = _get(value, key)
    return value


_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
}


def _arithmetic(op: str, a: Any, b: Any) -> Any:
    try:
        value = _OPERATORS[op](a, b)
    except OverflowError:  # a huge int meeting a float
        value = math.inf
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"number too large ({op})")
    if isinstance(value, int) and not -MAX_INT < value < MAX_INT:
        raise ExpressionError(f"number too large ({op})")
    return value


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return _same(a, b)
    if op == "!=":
        return not _same(a, b)
    if op in ("in", "not in"):
        return _member(a, b, op) == (op == "in")
    numbers = _number(a) and _number(b)
    if op in ("<", "<=", ">", ">=") and (numbers or (isinstance(a, str) and isinstance(b, str))):
        return _OPERATORS[op](a, b)
    if numbers or (op == "+" and type(a) is type(b) and isinstance(a, str | list)):
        if op in ("/", "%") and b == 0:
            raise ExpressionError(f"division by zero ({op})")
        if not numbers:
            limit, unit = (MAX_TEXT, "characters") if isinstance(a, str) else (MAX_ITEMS, "items")
            if len(a) + len(b) > limit:
                raise ExpressionError(f"result of {op!r} longer than {limit} {unit}")
        return _arithmetic(op, a, b)
    raise ExpressionError(f"cannot apply {op!r} to {_kind(a)} and {_kind(b)}")


def _evaluate(node: Node, scope: Scope) -> Any:  # noqa: C901  the evaluator: one branch per node and operator kind of the expression grammar
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        return _resolve(node, scope)
    if isinstance(node, ListOf):
        return [_evaluate(x, scope) for x in node.items]
    if isinstance(node, Unary):
        v = _evaluate(node.operand, scope)
        if node.op == "not":
            return not truthy(v)
        if not _number(v):
            raise ExpressionError(f"cannot apply unary {node.op!r} to {_kind(v)}")
        return -v if node.op == "-" else v
    if isinstance(node, Call):
        return _call(node, scope)
    value = _evaluate(node.first, scope)
    if node.rest[0][0] in ("and", "or"):
        for op, x in node.rest:
            if truthy(value) == (op == "or"):
                return value  # Python's short circuit: `inputs.name or 'anonymous'`
            value = _evaluate(x, scope)
        return value
    if node.rest[0][0] in (*COMPARISONS, "not in"):  # chained: a < b < c is a < b and b < c
        for op, x in node.rest:
            right = _evaluate(x, scope)
            if not _binary(op, value, right):
                return False
            value = right
        return True
    for op, x in node.rest:
        value = _binary(op, value, _evaluate(x, scope))
    return value


def _call(node: Call, scope: Scope) -> Any:
    if node.name == "exists":
        try:
            return _evaluate(node.args[0], scope) is not None
        except ExpressionError:  # an unknown step or name does not exist either
            return False
    args = [_evaluate(x, scope) for x in node.args]
    if node.name == "len" and isinstance(args[0], str | list | dict):
        return len(args[0])
    if node.name in ("lower", "upper") and isinstance(args[0], str):
        return args[0].lower() if node.name == "lower" else args[0].upper()
    if node.name == "contains":
        return _member(args[1], args[0], "contains")
    if node.name == "startswith" and all(isinstance(a, str) for a in args):
        return bool(args[0].startswith(args[1]))
    kinds = ", ".join(_kind(a) for a in args)
    raise ExpressionError(f"{node.name}() cannot take ({kinds})")
