"""Properties of references and expressions over random values and random text (hypothesis)."""

from __future__ import annotations

import contextlib
import json
import operator
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_kit.expressions import (
    ExpressionError,
    evaluate,
    parse,
    references,
    render,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
keys = st.text(st.sampled_from("abcxyz019-_"), min_size=1, max_size=12)
SCOPE: dict[str, Any] = {
    "inputs": {"a": 1, "s": "text", "l": [1, 2, {"k": None}], "d": {"x": True}, "big": 10**400},
    "steps": {"s1": {"output": {"v": 0.5, "items": ["p", "q"]}, "state": "succeeded"}},
    "item": {"name": "n"},
}
# pieces of the language, so random expressions get past the tokenizer often
PIECES = [
    *["0", "1", "2.5", "1e3", "1e308", "99999999999999999999", "'a'", '"b"', "[", "]"],
    *["true", "false", "null", "None", "(", ")", ",", ".", "+", "-", "*", "/", "%"],
    *["<", ">", "==", "!=", "<=", ">=", "and", "or", "not", "in", "=", "$", "'", "\\"],
    *["inputs", "steps", "item", "s1", "output", "v", "items", "a", "s", "l", "d", "x", "k"],
    *["len(", "lower(", "upper(", "contains(", "startswith(", "exists(", "${", "}"],
    *["${inputs.a}", "${steps.s1.output}", "inputs.big", "name"],
]
soups = st.lists(st.sampled_from(PIECES), max_size=30).map(" ".join)


def without_refs(value: Any) -> bool:
    if isinstance(value, str):
        return "${" not in value
    if isinstance(value, list):
        return all(without_refs(v) for v in value)
    if isinstance(value, dict):
        return all(without_refs(v) for v in value.values())
    return True


@given(json_values.filter(without_refs))
def test_render_without_references_is_the_identity(value: Any) -> None:
    assert render(value, {}) == value


@given(json_values)
def test_a_lone_reference_renders_to_the_value_itself(value: Any) -> None:
    assert render("${inputs.v}", {"inputs": {"v": value}}) == value


@given(st.text(min_size=1).filter(lambda t: "$" not in t), json_values)
def test_interpolation_is_text_or_json(prefix: str, value: Any) -> None:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert render(prefix + "${inputs.v}", {"inputs": {"v": value}}) == prefix + text


@given(st.text().filter(lambda t: "$" not in t))
def test_double_dollar_brace_is_a_literal(text: str) -> None:
    assert render("$${" + text, {}) == "${" + text


@given(keys, st.lists(keys, max_size=3))
def test_references_finds_every_step_key(key: str, path: list[str]) -> None:
    tail = "".join(f".{p}" for p in path)
    assert references({"x": [f"a ${{steps.{key}{tail}}} b"]}) == {key}
    assert references(f"${{inputs.{key}}}") == set()


@given(st.text())
def test_render_raises_only_expression_errors(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        render(text, SCOPE)


@settings(max_examples=500)
@given(st.text(max_size=60) | soups)
def test_evaluate_raises_only_expression_errors(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        evaluate(text, SCOPE)


@settings(max_examples=300)
@given(soups)
def test_whatever_parses_evaluates_or_fails_cleanly(text: str) -> None:
    try:
        node = parse(text)
    except ExpressionError:
        return
    assert isinstance(references(node), set)
    with contextlib.suppress(ExpressionError):
        evaluate(text, SCOPE)


@given(st.text())
def test_string_literals_round_trip(text: str) -> None:
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    assert evaluate(quoted, {}) == text


OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "%": operator.mod,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@st.composite
def arithmetic(draw: Any, depth: int = 0) -> tuple[str, Any]:
    """(fully parenthesised text, Python's value) for small integer arithmetic."""
    if depth > 3 or draw(st.booleans()):
        n = draw(st.integers(-50, 50))
        return (f"({n})" if n < 0 else str(n)), n
    op = draw(st.sampled_from(sorted(OPS)))
    left_text, left = draw(arithmetic(depth + 1))
    right_text, right = draw(arithmetic(depth + 1))
    if op in ("<", "<=", "==", "!=", "%") and (
        isinstance(left, bool) or isinstance(right, bool) or (op == "%" and right == 0)
    ):
        return left_text, left
    if op in ("+", "-", "*") and (isinstance(left, bool) or isinstance(right, bool)):
        return left_text, left
    return f"({left_text} {op} {right_text})", OPS[op](left, right)


@given(arithmetic())
def test_integer_arithmetic_and_comparison_agree_with_python(case: tuple[str, Any]) -> None:
    text, expected = case
    assert evaluate(text, {}) == expected
