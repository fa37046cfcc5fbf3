"""ABAC conditions: Praetor's operators on attribute paths, validated once, compiled once.

A condition is a JSON object; its keys are an implicit AND. A key is either a logical
operator (`$and`/`$or` take a list of conditions, `$not` one condition) or an attribute
path (`subject.department`, `user.id` (alias of subject), `resource.status`,
`context.ip`) whose value is either a literal (equality) or an object of comparison
operators (their implicit AND).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentsuite_identity.domain.errors import Invalid

MAX_DEPTH = 8
MAX_NODES = 100

ROOTS = ("subject", "user", "resource", "context")
COMPARISONS = (
    "$eq",
    "$ne",
    "$in",
    "$nin",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$contains",
    "$startsWith",
    "$endsWith",
    "$exists",
)
LOGICAL = ("$and", "$or", "$not")

Env = Mapping[str, Any]
"""What a condition reads: {"subject": {...}, "resource": {...}, "context": {...}}."""

Test = Callable[[Env], bool]

_MISSING = object()


@dataclass(frozen=True)
class Clause:
    """One top-level key of a condition, compiled: explanations report each one."""

    text: str
    test: Test


def validate(condition: object, field: str = "condition") -> None:
    """Raise Invalid naming the offending path (e.g. `condition.resource.status.$regex`)."""
    if not isinstance(condition, dict):
        raise Invalid("invalid", "a condition is a JSON object", field=field)
    nodes = [0]
    _check(condition, field, 1, nodes)


def _count(nodes: list[int], field: str) -> None:
    nodes[0] += 1
    if nodes[0] > MAX_NODES:
        raise Invalid("invalid", f"a condition has at most {MAX_NODES} nodes", field=field)


def _check(condition: object, field: str, depth: int, nodes: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise Invalid("invalid", f"a condition nests at most {MAX_DEPTH} levels", field=field)
    if not isinstance(condition, dict):
        raise Invalid("invalid", "a condition is a JSON object", field=field)
    for key, value in condition.items():
        here = f"{field}.{key}"
        _count(nodes, here)
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise Invalid("invalid", f"{key} takes a non-empty list of conditions", field=here)
            for i, item in enumerate(value):
                _check(item, f"{here}[{i}]", depth + 1, nodes)
        elif key == "$not":
            _check(value, here, depth + 1, nodes)
        elif key.startswith("$"):
            raise Invalid("invalid", f"unknown operator {key}", field=here)
        else:
            _check_path(key, here)
            _check_operand(value, here, depth + 1, nodes)


def _check_path(path: str, field: str) -> None:
    parts = path.split(".")
    if len(parts) < 2 or parts[0] not in ROOTS or not all(parts):
        raise Invalid(
            "invalid",
            "an attribute path starts with subject., user., resource. or context.",
            field=field,
        )


def _check_operand(value: object, field: str, depth: int, nodes: list[int]) -> None:
    if depth > MAX_DEPTH:
        raise Invalid("invalid", f"a condition nests at most {MAX_DEPTH} levels", field=field)
    if not _is_operators(value):
        return
    assert isinstance(value, dict)
    for op, operand in value.items():
        here = f"{field}.{op}"
        _count(nodes, here)
        if op not in COMPARISONS:
            raise Invalid("invalid", f"unknown operator {op}", field=here)
        if op in ("$in", "$nin") and not isinstance(operand, list):
            raise Invalid("invalid", f"{op} takes a list", field=here)
        if op == "$exists" and not isinstance(operand, bool):
            raise Invalid("invalid", "$exists takes true or false", field=here)
        if op in ("$startsWith", "$endsWith") and not isinstance(operand, str):
            raise Invalid("invalid", f"{op} takes a string", field=here)


def _is_operators(value: object) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k).startswith("$") for k in value)


# --- compilation ---------------------------------------------------------------------------


def compile_clauses(condition: Mapping[str, Any]) -> tuple[Clause, ...]:
    """The condition's top-level clauses, each a closure; assumes `validate` passed."""
    return tuple(
        Clause(_describe(key, value), _compile_key(key, value)) for key, value in condition.items()
    )


def compile_condition(condition: Mapping[str, Any]) -> Test:
    tests = [_compile_key(key, value) for key, value in condition.items()]
    if len(tests) == 1:
        return tests[0]
    return lambda env: all(t(env) for t in tests)


def _describe(key: str, value: object) -> str:
    return f"{key} {json.dumps(value, sort_keys=True, default=str)}"


def _compile_key(key: str, value: Any) -> Test:
    if key == "$and":
        parts = [compile_condition(c) for c in value]
        return lambda env: all(p(env) for p in parts)
    if key == "$or":
        parts = [compile_condition(c) for c in value]
        return lambda env: any(p(env) for p in parts)
    if key == "$not":
        inner = compile_condition(value)
        return lambda env: not inner(env)
    getter = _getter(key)
    if _is_operators(value):
        tests = [_comparison(op, operand, getter) for op, operand in value.items()]
        return lambda env: all(t(env) for t in tests)
    return _comparison("$eq", value, getter)


def _getter(path: str) -> Callable[[Env], Any]:
    root, *rest = path.split(".")
    if root == "user":
        root = "subject"
    keys = tuple(rest)

    def get(env: Env) -> Any:
        node: Any = env.get(root, _MISSING)
        for k in keys:
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(k, _MISSING)
        return node

    return get


def _ordered(op: str, operand: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        # numbers compare with numbers, strings with strings; anything else does not hold
        if isinstance(value, bool) or isinstance(operand, bool):
            return False
        numbers = isinstance(value, int | float) and isinstance(operand, int | float)
        if not numbers and not (isinstance(value, str) and isinstance(operand, str)):
            return False
        if op == "$gt":
            return bool(value > operand)
        if op == "$gte":
            return bool(value >= operand)
        if op == "$lt":
            return bool(value < operand)
        return bool(value <= operand)

    return check


def _contains(operand: Any) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, str):
            return isinstance(operand, str) and operand in value
        if isinstance(value, list):
            return operand in value
        return False

    return check


def _comparison(op: str, operand: Any, get: Callable[[Env], Any]) -> Test:
    missing_holds = op in ("$ne", "$nin")
    check: Callable[[Any], bool]
    if op == "$exists":
        want = bool(operand)
        return lambda env: (get(env) is not _MISSING) == want
    if op == "$eq":
        check = lambda v: v == operand  # noqa: E731
    elif op == "$ne":
        check = lambda v: v != operand  # noqa: E731
    elif op in ("$in", "$nin"):
        members = list(operand)
        inside = op == "$in"
        check = lambda v: (v in members) == inside  # noqa: E731
    elif op in ("$gt", "$gte", "$lt", "$lte"):
        check = _ordered(op, operand)
    elif op == "$contains":
        check = _contains(operand)
    elif op == "$startsWith":
        check = lambda v: isinstance(v, str) and v.startswith(operand)  # noqa: E731
    else:  # $endsWith
        check = lambda v: isinstance(v, str) and v.endswith(operand)  # noqa: E731

    def test(env: Env) -> bool:
        value = get(env)
        if value is _MISSING:
            return missing_holds
        return check(value)

    return test
