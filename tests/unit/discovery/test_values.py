"""Obligation values: sameness, and rejections that never repeat the value (it is
`Sensitive`; the reason is not)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_discovery.domain.values import at, invalid, same

SECRET = "hunter2-secret"


@pytest.mark.parametrize(
    ("validator", "value", "reason"),
    [
        ({"enum": ["a", "b"]}, SECRET, "$: the value is not one of ['a', 'b']"),
        ({"type": "integer"}, SECRET, "$: the value is not of type 'integer'"),
        (
            {"type": "object", "properties": {"a.b": {"type": "integer"}}},
            {"a.b": SECRET},
            "$.a.b: the value is not of type 'integer'",
        ),
        ({"items": {"maxLength": 3}}, ["ok", SECRET], "$[1]: the value is too long"),
        ({"pattern": "^x"}, SECRET * 30, "$: the value does not match '^x'"),
        ({"maxLength": 3}, SECRET * 30, "$: does not match the obligation's validator"),
        ({"minItems": 3}, [SECRET], "$: the value is too short"),
        ({"not": {"type": "array"}}, [SECRET], "$: the value should not be valid under"),
    ],
)
def test_a_rejection_says_why_without_the_value(validator: Any, value: Any, reason: str) -> None:
    said = invalid(validator, value)
    assert said is not None
    assert said.startswith(reason)
    assert SECRET not in said


def test_a_valid_value_has_no_reason() -> None:
    assert invalid({"type": "string"}, "x") is None


def test_at_finds_the_part_a_path_names() -> None:
    value = {"a": {"b": [1, {"c.d": 2}]}, "a.x": 3}
    assert at(value, "$") is value
    assert at(value, "$.a.b[1].c.d") == 2
    assert at(value, "$.a.x") == 3
    assert at(value, "$.a.b[5]") is at(value, "$.zz")


def test_sameness_ignores_case_and_spacing_of_text_only() -> None:
    assert same(" Email  reports", "email reports")
    assert same({"a": [1, "X"]}, {"a": [1.0, "x"]})
    assert not same(True, 1)
    assert not same(["a", "b"], ["b", "a"])
    deep: Any = []
    for _ in range(5_000):
        deep = [deep]
    assert not same(deep, deep)  # too deep to compare: not the same, not a crash


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=8, max_size=400).filter(lambda s: s.strip() == s),
    st.sampled_from(
        [
            {"enum": [1]},
            {"type": "integer"},
            {"maxLength": 2},
            {"pattern": "^$"},
            {"type": "array"},
            {"items": {"type": "integer"}},
            {"properties": {"k": {"type": "integer"}}},
        ]
    ),
    st.sampled_from(["plain", "list", "object"]),
)
def test_no_reason_repeats_the_value(secret: str, validator: Any, shape: str) -> None:
    value = {"plain": secret, "list": [secret], "object": {"k": secret}}[shape]
    said = invalid(validator, value)
    assert said is None or secret not in said
    assert said is None or repr(secret)[1:-1] not in said
