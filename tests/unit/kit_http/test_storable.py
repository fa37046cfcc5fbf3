"""The kit's rule for text PostgreSQL cannot hold: found in decoded JSON (keys and values,
deep documents without recursion), escaped on demand, refused at the edge of any app made
by `create_app` with a 422 naming the field."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from agentsuite_kit.http import create_app
from agentsuite_kit.storable import (
    MAX_JSON_DEPTH,
    Unstorable,
    escaped,
    nested_past,
    suspect,
    unstorable,
    unstorable_json,
)

from .helpers import client_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({"inputs": {"x": "a\x00b"}}, "inputs.x", "NUL"),
        ({"a": [1, {"b": "\ud800"}]}, "a[1].b", "surrogate"),
        ({"a": {"k\x00": 1}}, "a.k\\u0000", "key contains NUL"),
        ([{"\udfff": 1}], "[0].\\udfff", "key contains an unpaired"),
        ({"n": float("nan")}, "n", "non-finite"),
        ("\x00", "", "NUL"),
    ],
)
def test_the_first_flaw_is_named_by_its_path(value: Any, path: str, reason: str) -> None:
    found = unstorable(value)
    assert found is not None
    assert found.path == path
    assert reason in found.reason


def test_paired_surrogates_and_plain_text_are_storable() -> None:
    assert unstorable({"emoji": "\U0001f600", "k": ["x", 1, 2.5, None, True]}) is None
    assert unstorable_json(b'{"a": "\\ud83d\\ude00", "b": "\\\\u0000"}') is None


def test_a_deep_document_is_walked_without_recursion() -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(50_000):
        inner.append([])
        inner = inner[0]
    inner.append("\x00")
    found = unstorable(deep, max_depth=sys.maxsize)  # no depth bound: the NUL is found
    assert found is not None
    assert found.path.endswith("[0][0]")
    assert unstorable(escaped(deep), max_depth=sys.maxsize) is None
    bounded = unstorable(deep)  # the bound is met first
    assert bounded is not None
    assert bounded.reason == f"is nested deeper than {MAX_JSON_DEPTH} levels"


# hostile review: JSON deeper than pydantic serializes (~255) was stored, then every read or
# event carrying it was a 500 ("Maximum serialization depth exceeded"): past the bound it is
# refused, naming where, and the raw-bytes screen does not let it through unwalked
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 900])
def test_json_nested_past_the_bound_is_refused_where_it_gets_too_deep(depth: int) -> None:
    raw = ('{"inputs": {"x": ' + "[" * (depth - 2) + "]" * (depth - 2) + "}}").encode()
    found = unstorable_json(raw)
    assert found is not None
    assert found.path == "inputs.x" + "[0]" * (MAX_JSON_DEPTH - 2)
    assert "deeper than 64" in found.reason


def test_json_at_the_bound_and_brackets_in_strings_are_fine() -> None:
    depth = MAX_JSON_DEPTH
    assert (
        unstorable_json(("{" + '"x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode())
        is None
    )
    wide = json.dumps({"items": [{"a": [1]} for _ in range(500)], "s": "[[[[" * 100}).encode()
    assert suspect(wide)  # many brackets: the walk decides
    assert unstorable_json(wide) is None
    assert not nested_past(json.loads(wide))
    assert nested_past({"a": [[{"b": []}]]}, max_depth=4)
    assert not nested_past({"a": [[{"b": []}]]}, max_depth=5)


async def test_the_edge_refuses_a_deep_body_with_a_422_naming_the_bound() -> None:
    async with client_for(build()) as client:
        reply = await client.post(
            "/things/a",
            content='{"inputs": {"x": ' + "[" * 300 + "]" * 300 + "}}",
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"].startswith("inputs.x[0]")
        assert "deeper than 64 levels" in reply.json()["detail"]


def test_raw_bytes_are_screened_cheaply_then_walked() -> None:
    assert not suspect(b'{"a": "plain"}')
    assert suspect(b'{"a": "\\u0000"}')
    assert suspect(b'{"a": "\\uD800"}')
    assert suspect(b'{"a": "\xed\xa0\x80"}')  # a surrogate written raw: json decodes it
    found = unstorable_json(b'{"a": ["\xed\xa0\x80"]}')
    assert found == Unstorable("a[0]", "contains an unpaired surrogate (U+D800)")
    assert unstorable_json(b"{not json \\u0000") is None  # the real parser answers that


@given(st.recursive(st.text() | st.floats(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)))
def test_escaped_is_always_storable_and_keeps_storable_values(value: Any) -> None:
    out = escaped(value)
    assert unstorable(out, max_depth=sys.maxsize) is None
    if unstorable(value, max_depth=sys.maxsize) is None:
        assert out is value
    json.dumps(out).encode("utf-8")  # no surrogate left to fail the encoder


class Body(BaseModel):
    inputs: dict[str, Any] = {}


def build() -> FastAPI:
    app = create_app("storable-test", "0")

    @app.post("/things/{name}")
    async def make(name: str, body: Body) -> dict[str, Any]:
        return body.inputs

    return app


@pytest.mark.parametrize(
    ("url", "content", "headers", "field"),
    [
        ("/things/a", '{"inputs": {"x": "a\\u0000b"}}', {}, "inputs.x"),
        ("/things/a", '{"inputs": {"\\ud800": 1}}', {}, "inputs.\\ud800"),
        ("/things/a", '{"inputs": {"x": NaN}}', {}, "inputs.x"),
        ("/things/a%00", "{}", {}, "name"),
        ("/things/a?q=%00", "{}", {}, "q"),
        ("/things/a", "{}", {"Idempotency-Key": "k\x00"}, "idempotency-key"),
    ],
)
async def test_the_edge_refuses_with_a_422_naming_the_field(
    url: str, content: str, headers: dict[str, str], field: str
) -> None:
    async with client_for(build()) as client:
        reply = await client.post(
            url, content=content, headers={"content-type": "application/json", **headers}
        )
        assert reply.status_code == 422, reply.text
        problem = reply.json()
        assert problem["field"] == field
        assert problem["code"] == "invalid_text"
        assert reply.headers["content-type"].startswith("application/problem+json")
        ok = await client.post("/things/a", json={"inputs": {"x": "fine \U0001f600"}})
        assert ok.status_code == 200


# hostile review: a number literal too large for a double (`1e999`) decodes to inf in
# json.loads without the text "Infinity" ever appearing, so the byte screen passed it and
# execution's POST /v1/executions {"inputs": {"x": 1e999}} answered 500 (jsonb refused it)
@pytest.mark.parametrize("literal", ["1e999", "-1E400", "1.5e+309", "12345678e999"])
def test_an_overflowing_number_literal_is_found_like_infinity(literal: str) -> None:
    raw = f'{{"inputs": {{"x": [{literal}]}}}}'.encode()
    found = unstorable_json(raw)
    assert found is not None, literal
    assert found.path == "inputs.x[0]"
    assert "non-finite" in found.reason


def test_a_float_of_400_digits_is_found_and_a_long_integer_is_not() -> None:
    found = unstorable_json(b'{"x": 1' + b"0" * 400 + b".0}")  # decodes to inf
    assert found is not None
    assert found.path == "x"
    assert unstorable_json(b'{"x": 1' + b"0" * 400 + b"}") is None  # an exact int: jsonb holds it


async def test_the_edge_refuses_an_overflowing_number_with_a_422() -> None:
    async with client_for(build()) as client:
        reply = await client.post(
            "/things/a",
            content='{"inputs": {"x": 1e999}}',
            headers={"content-type": "application/json"},
        )
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == "inputs.x"
