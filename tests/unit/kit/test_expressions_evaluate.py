"""Condition and map expressions: parse and evaluate, errors instead of crashes."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_kit.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    evaluate,
    parse,
    truthy,
)

SCOPE: dict[str, Any] = {
    "inputs": {"flag": True, "name": "Ann", "limit": 10, "tags": ["vip", "new"], "empty": ""},
    "steps": {
        "score": {"output": {"value": 0.8, "label": "High"}, "state": "succeeded"},
        "fetch-leads": {"output": [{"name": "Acme"}, {"name": "Bolt"}], "state": "succeeded"},
        "skipped": {"output": None, "state": "skipped"},
    },
    "item": {"name": "Cora", "n": 3},
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1", 1),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        ("'single'", "single"),
        ('"double"', "double"),
        ("'it\\'s'", "it's"),
        ('"a\\nb\\t\\\\"', "a\nb\t\\"),
        ("true", True),
        ("False", False),
        ("null", None),
        ("None", None),
        ("[1, 'a', [true]]", [1, "a", [True]]),
        ("[]", []),
        ("[1, 2,]", [1, 2]),
    ],
)
def test_literals(expression: str, expected: Any) -> None:
    value = evaluate(expression, {})
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("steps.score.output.value", 0.8),
        ("${steps.score.output.value}", 0.8),
        ("inputs.flag", True),
        ("item.name", "Cora"),
        ("${steps.fetch-leads.output}[1].name", "Bolt"),
        ("${steps.fetch-leads.output[0].name}", "Acme"),
        ("steps['fetch-leads'].output[0]['name']", "Acme"),
        ("inputs.tags[item.n - 2]", "new"),
        ("inputs.tags[-1]", "new"),
        ("inputs.missing", None),
        ("inputs.missing.deeper[0]", None),
        ("inputs.tags[5]", None),
        ("steps.skipped.output.x", None),
        ("[10, 20, 30][1]", 20),
        ("(inputs).name", "Ann"),
        ("'abc'[0]", None),
        ("item.in", None),
    ],
)
def test_references_as_bare_paths_or_braces(expression: str, expected: Any) -> None:
    assert evaluate(expression, SCOPE) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-2 * -3", 6),
        ("- -2", 2),
        ("+4", 4),
        ("-(1 + 2) % 4", 1),
        ("1\u2003+\u00a02\n", 3),
        ("10 % 4 * 2", 4),
        ("'a' + 'b'", "ab"),
        ("[1] + [2]", [1, 2]),
        ("item.n * 2 + 1", 7),
        ("steps.score.output.value * 100", 80.0),
    ],
)
def test_arithmetic(expression: str, expected: Any) -> None:
    assert evaluate(expression, SCOPE) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("steps.score.output.value > 0.5", True),
        ("steps.score.output.value >= 0.8", True),
        ("steps.score.output.value < 0.8", False),
        ("inputs.limit <= 10", True),
        ("1 == 1.0", True),
        ("'a' < 'b'", True),
        ("inputs.name == 'Ann'", True),
        ("inputs.name != 'Ann'", False),
        ("inputs.missing == null", True),
        ("1 == true", False),
        ("0 == false", False),
        ("[1, true] == [1, true]", True),
        ("[1] == [true]", False),
        ("inputs.tags == ['vip', 'new']", True),
        ("'1' == 1", False),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("'vip' in inputs.tags", True),
        ("'old' not in inputs.tags", True),
        ("'nn' in 'Ann'", True),
        ("'name' in item", True),
        ("1 in item", False),
        ("true in [1]", False),
        ("1 < 2 not in [true]", True),
        ("'z' not in 'abc' not in ['abc']", False),
    ],
)
def test_comparison_and_membership(expression: str, expected: bool) -> None:
    assert evaluate(expression, SCOPE) is expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("inputs.flag and steps.score.output.value > 0.5", True),
        ("not inputs.flag or item.n == 3", True),
        ("not inputs.flag and item.n == 3", False),
        ("not not inputs.flag", True),
        ("not 1 == 2", True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("inputs.missing or 'default'", "default"),
        ("inputs.name and inputs.limit", 10),
        ("inputs.empty and unknown_name", ""),
        ("inputs.flag or unknown_name", True),
    ],
)
def test_boolean_logic_short_circuits_like_python(expression: str, expected: Any) -> None:
    assert evaluate(expression, SCOPE) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("len(inputs.tags)", 2),
        ("len(inputs.name)", 3),
        ("len(item)", 2),
        ("lower(steps.score.output.label)", "high"),
        ("upper(inputs.name)", "ANN"),
        ("contains(inputs.tags, 'vip')", True),
        ("contains(inputs.name, 'nn')", True),
        ("contains(item, 'n')", True),
        ("startswith(inputs.name, 'An')", True),
        ("startswith(inputs.name, 'n')", False),
        ("exists(steps.score.output.value)", True),
        ("exists(inputs.missing)", False),
        ("exists(${steps.never-ran.output})", False),
        ("exists(nobody.name)", False),
        ("exists(steps.skipped.output)", False),
        ("len(${steps.fetch-leads.output}) > 1", True),
    ],
)
def test_functions(expression: str, expected: Any) -> None:
    assert evaluate(expression, SCOPE) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("steps.nope.output", "unknown step 'nope' in steps.nope.output"),
        ("${steps.no-pe.output} == 1", r"unknown step 'no-pe' in \$\{steps.no-pe.output\}"),
        ("steps[inputs.name].output", "unknown step 'Ann'"),
        ("customer.id", "unknown name 'customer'"),
        ("steps.fetch-leads.output", r"unknown step 'fetch' in steps.fetch \(a key with `-` needs"),
        ("1 < 'a'", "cannot apply '<' to number and string"),
        ("inputs.missing > 1", "cannot apply '>' to null and number"),
        ("[1] < [2]", "cannot apply '<' to list and list"),
        ("true < 2", "cannot apply '<' to boolean and number"),
        ("'a' + 1", r"cannot apply '\+' to string and number"),
        ("'a' * 3", r"cannot apply '\*' to string and number"),
        ("true + 1", r"cannot apply '\+' to boolean and number"),
        ("1 / 0", "division by zero"),
        ("1 % 0.0", "division by zero"),
        ("-'a'", "cannot apply unary '-' to string"),
        ("1 in 5", "cannot apply 'in' to number and number"),
        ("1 in 'abc'", "cannot apply 'in' to number and string"),
        ("len(5)", r"len\(\) cannot take \(number\)"),
        ("lower(null)", r"lower\(\) cannot take \(null\)"),
        ("startswith('a', 1)", r"startswith\(\) cannot take \(string, number\)"),
        ("inputs.tags[1.5]", "cannot index with a number"),
        ("inputs.tags[true]", "cannot index with a boolean"),
        (f"{'9' * 400} / 1", "number too large"),
        (f"{'9' * 400} * 1.5", "number too large"),
        ("1e308 * 10", "number too large"),
        ("-1e308 - 1e308", "number too large"),
    ],
)
def test_evaluation_errors_name_the_problem(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(expression, SCOPE)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "unexpected end at 0"),
        ("1 +", "unexpected end at 3"),
        ("(1 + 2", r"expected '\)' at 6"),
        ("1 2", "unexpected token at 2"),
        ("a ! b", "unexpected '!' at 2"),
        ("a = b", "unexpected '=' at 2"),
        ("'open", 'unexpected "\'" at 0'),
        ("'bad \\q escape'", "unknown escape at 5"),
        ("foo(1)", "unknown function 'foo'"),
        ("len(1, 2)", r"len\(\) takes 1 argument\(s\), got 2"),
        ("contains(1)", r"contains\(\) takes 2"),
        ("exists(1)", r"exists\(\) takes a reference"),
        ("a.1", "expected a name after '.'"),
        ("a.", "expected a name after '.'"),
        ("a not 1", "expected 'in'"),
        ("inputs[1", "expected ']'"),
        ("${inputs.x", "missing `}`"),
        ("&&", "unexpected '&'"),
        ("[1 2]", "expected ','"),
        ("1e999", "number too large at 0"),
        ("1 +\u2003é", "unexpected 'é' at 4"),
    ],
)
def test_parse_errors_say_what_and_where(expression: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        parse(expression)


def test_parse_does_not_need_a_scope_but_evaluate_checks_names() -> None:
    node = parse("steps.later.output.ok and item.x")
    assert node is not None
    with pytest.raises(ExpressionError, match="unknown step 'later'"):
        evaluate("steps.later.output.ok and item.x", SCOPE)


def test_long_expressions_are_refused() -> None:
    with pytest.raises(ExpressionError, match=f"longer than {MAX_LENGTH}"):
        parse("1" + " + 1" * MAX_LENGTH)


def test_nesting_is_capped() -> None:
    assert evaluate("(" * (MAX_DEPTH - 1) + "1" + ")" * (MAX_DEPTH - 1), {}) == 1
    for deep in ("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH, "not " * 60 + "1", "-" * 60 + "1"):
        with pytest.raises(ExpressionError, match=f"nested deeper than {MAX_DEPTH}"):
            parse(deep)
    with pytest.raises(ExpressionError, match="nested deeper"):
        parse("len(" * 60 + "1" + ")" * 60)


def test_long_flat_chains_evaluate_without_deep_recursion() -> None:
    assert evaluate(" + ".join(["1"] * 400), {}) == 400
    assert evaluate(" and ".join(["true"] * 200), {}) is True
    assert evaluate("x" + ".a" * 900, {"x": {}}) is None


def test_deeply_nested_data_is_an_expression_error_not_a_crash() -> None:
    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ExpressionError, match="too deeply nested"):
        evaluate("x == y", {"x": deep, "y": deep})


def test_map_items_expression_gives_the_list() -> None:
    assert evaluate("${steps.fetch-leads.output}", SCOPE) == [{"name": "Acme"}, {"name": "Bolt"}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        (False, False),
        (0, False),
        (0.0, False),
        ("", False),
        ([], False),
        ({}, False),
        (True, True),
        (-1, True),
        ("false", True),
        ([0], True),
        ({"a": None}, True),
    ],
)
def test_truthy_is_python_truthiness(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
