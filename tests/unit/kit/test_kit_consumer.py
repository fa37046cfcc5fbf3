"""How a consumer summarizes a validation error for a dead letter's headers."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from agentsuite_kit.messaging.consumer import _short


class Inner(BaseModel):
    n: int


class Outer(BaseModel):
    inner: Inner
    name: str
    items: list[int] = []


def _error(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return caught.value


def test_short_joins_dotted_locations_and_messages() -> None:
    exc = _error({"inner": {"n": "x"}})
    assert _short(exc) == (
        "inner.n: Input should be a valid integer, unable to parse string as an integer; "
        "name: Field required"
    )


def test_short_includes_list_indexes() -> None:
    exc = _error({"inner": {"n": 1}, "name": "a", "items": [1, "b"]})
    assert _short(exc) == (
        "items.1: Input should be a valid integer, unable to parse string as an integer"
    )


def test_short_keeps_the_first_ten_errors() -> None:
    exc = _error({"inner": {"n": 1}, "name": "a", "items": [str(i) + "x" for i in range(15)]})
    assert exc.error_count() == 15
    parts = _short(exc).split("; ")
    assert len(parts) == 10
    assert [p.split(":", 1)[0] for p in parts] == [f"items.{i}" for i in range(10)]


def test_short_on_invalid_json() -> None:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate_json(b"{not json")
    assert _short(caught.value).startswith(": Invalid JSON")
