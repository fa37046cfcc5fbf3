"""The shapes of regular expressions `re` backtracks on without end are refused; the
everyday ones pass."""

from __future__ import annotations

import pytest

from agentsuite_catalog.domain.patterns import backtracking_risk

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
