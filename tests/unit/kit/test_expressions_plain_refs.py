"""read_ref's fast path for plain references gives what the general parser gives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_kit.expressions.syntax import ExpressionError, read_ref, read_ref_general

PIECES = [
    "steps",
    "a-b",
    ".",
    "[",
    "]",
    "0",
    "12",
    "-1",
    " ",
    "'",
    "x y",
    "}",
    "${",
    "é",
    "٣",
    "9" * 19,
]


@settings(max_examples=2_000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8), st.sampled_from(["}", " }", "", "} tail"]))
def test_the_fast_path_parses_like_the_general_one(parts: list[str], end: str) -> None:
    text = "${" + "".join(parts) + end
    try:
        expected = read_ref_general(text, 0)
    except ExpressionError:
        with pytest.raises(ExpressionError):
            read_ref(text, 0)
        return
    assert read_ref(text, 0) == expected


@pytest.mark.parametrize(
    "text", ["${steps.fetch-leads.output.items[0].name}", "${ item }", "${inputs.xs[-2]}"]
)
def test_plain_references(text: str) -> None:
    assert read_ref("ab " + text, 3) == read_ref_general("ab " + text, 3)
