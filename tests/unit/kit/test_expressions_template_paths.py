"""template_paths (the one-scan reader planning validates with) finds what template finds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_kit.expressions.syntax import ExpressionError, Path, template, template_paths

PIECES = ["${", "$", "$${", "}", "steps", ".", "a-b", "[0]", "[ 1 ]", "['q']", " ", "x", "{"]


@settings(max_examples=2_000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_template_paths_are_the_paths_of_template(parts: list[str]) -> None:
    text = "".join(parts)
    refused: str | None = None
    expected: list[Path] = []
    try:
        expected = [p for p in template(text) if isinstance(p, Path)]
    except ExpressionError as exc:
        refused = str(exc)
    if refused is not None:
        with pytest.raises(ExpressionError) as raised:
            template_paths(text)
        assert str(raised.value) == refused
        return
    known: dict[str, Path] = {}
    assert template_paths(text, known) == expected
    assert template_paths(text, known) == expected  # a second read, from `known`


def test_a_repeated_reference_is_read_once() -> None:
    known: dict[str, Path] = {}
    first = template_paths("${inputs.goal} and ${steps.a.output[0]}", known)
    again = template_paths("then ${inputs.goal}", known)
    assert again[0] is first[0]
    assert set(known) == {"${inputs.goal}", "${steps.a.output[0]}"}
