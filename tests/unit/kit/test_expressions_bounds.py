"""What one evaluation may build: numbers a JSON number can carry, strings and lists of a
bounded length. The values come from outside (step outputs, a model's extractions), the
expression from a tenant: unbounded, `a * a * ...` over a 4,000-digit integer built a
number of millions of digits (seconds of CPU, and one json.dumps refuses), `a + a + ...`
over a long string or list built one of tens of millions."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_kit.expressions import MAX_ITEMS, MAX_TEXT, ExpressionError, evaluate


@pytest.mark.parametrize(
    ("expression", "scope", "message"),
    [
        ("a * a", {"a": 10**300}, "number too large"),
        ("a + a", {"a": 2**1023 + 2**1022}, "number too large"),
        ("-a - a", {"a": 2**1023 + 2**1022}, "number too large"),
        ("a * 1", {"a": int("9" * 4000)}, "number too large"),
        ("a + a", {"a": "x" * (MAX_TEXT // 2 + 1)}, "longer than"),
        ("a + a", {"a": list(range(MAX_ITEMS // 2 + 1))}, "longer than"),
    ],
)
def test_a_result_past_the_bounds_is_an_error(
    expression: str, scope: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExpressionError, match=message):
        evaluate(expression, scope)


def test_results_within_the_bounds_are_kept() -> None:
    assert evaluate("a * 2", {"a": 2**1000}) == 2**1001
    assert evaluate("a - a", {"a": 10**300}) == 0
    assert evaluate("a == a", {"a": int("9" * 4000)}) is True
    assert evaluate("a + a", {"a": "x" * (MAX_TEXT // 2)}) == "x" * MAX_TEXT
    assert len(evaluate("a + a", {"a": [1] * (MAX_ITEMS // 2)})) == MAX_ITEMS
