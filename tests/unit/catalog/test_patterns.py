"""The shapes of regular expressions `re` backtracks on without end are refused; the
everyday ones pass."""

from __future__ import annotations

import pytest

from agentsuite_kit.schemas.patterns import backtracking_risk

EXPONENTIAL = [
    "^(a+)+$",
    "^(a|a)*$",
    "^(a|aa)+$",
    "(\\w+\\s?)*$",
    "^(a*)*b$",
    "^([a-z]+\\d*)+$",
    "(.*a){20}",
    "((a|a)b)*",
    "^(x+x+)+y$",
    "\\d*\\d*x",
    "^(" * 300 + "a" + ")" * 300 + "$",
]
EVERYDAY = [
    "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
    "^\\d{4}-\\d{2}-\\d{2}$",
    "^(\\d{1,3}\\.){3}\\d{1,3}$",
    "^[A-Z]{2}(-[A-Z0-9]+)*$",
    "^(https?|ftp)://[^\\s]+$",
    "^([a-z]|-)+$",
    "^(?:[a-z0-9]+(?:-[a-z0-9]+)*)$",
    "^[a-zA-Z_][a-zA-Z0-9_]*$",
    "^x-",
    "(\\w|\\d)+",  # re folds it into one character class
    "(?>a+)+b",  # atomic: never backtracks into the group
    "[",  # not a pattern at all: the schema check reports it
]


@pytest.mark.parametrize("pattern", EXPONENTIAL)
def test_backtracking_shapes_are_named(pattern: str) -> None:
    assert backtracking_risk(pattern) is not None


@pytest.mark.parametrize("pattern", EVERYDAY)
def test_everyday_patterns_pass(pattern: str) -> None:
    assert backtracking_risk(pattern) is None


def test_a_huge_pattern_is_judged_in_one_pass() -> None:
    """20,000 alternatives starting with distinct characters (no two alike): compared
    pairwise they took 19 s here (a request's worth of CPU); one pass is linear. No clock
    in the test: pytest's timeout is the guard."""
    alternatives = "|".join(chr(0x4E00 + i) + "y" for i in range(20_000))
    assert backtracking_risk(f"^({alternatives})+$") is None
    assert backtracking_risk(f"^({alternatives}|\u4e00z)+$") is not None
