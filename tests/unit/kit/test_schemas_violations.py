"""Validating a value against a tenant's schema: bounded pattern work, per validation."""

from __future__ import annotations

import asyncio

from agentsuite_kit.schemas import MAX_PATTERN_INPUT, MAX_PATTERN_WORK, violations

SCHEMA = {"type": "array", "items": {"type": "string", "pattern": "^a+$"}}
FITS = ["a" * MAX_PATTERN_INPUT] * (MAX_PATTERN_WORK // MAX_PATTERN_INPUT)


def test_each_validation_has_its_own_pattern_budget() -> None:
    for _ in range(3):  # a budget spent by one validation is not the next one's
        assert violations(SCHEMA, FITS) == []


def test_one_validation_stops_matching_past_its_budget() -> None:
    found = violations(SCHEMA, [*FITS, "a"])
    assert [v.path for v in found] == [f"$[{len(FITS)}]"]
    assert f"over {MAX_PATTERN_WORK} characters" in found[0].message


def test_a_string_past_the_input_bound_is_not_matched() -> None:
    (found,) = violations(SCHEMA, ["a" * (MAX_PATTERN_INPUT + 1)])
    assert "not checked against a pattern" in found.message


async def test_concurrent_validations_keep_their_own_budgets() -> None:
    async def one() -> int:
        await asyncio.sleep(0)
        return len(violations(SCHEMA, FITS))

    assert await asyncio.gather(*(one() for _ in range(8))) == [0] * 8


def test_plain_keywords_still_apply() -> None:
    assert [v.path for v in violations(SCHEMA, ["b", 3])] == ["$[0]", "$[1]"]
    assert (
        violations({"patternProperties": {"^x": {"type": "integer"}}}, {"xa": "s"})[0].path
        == "$.xa"
    )
