from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from agentsuite_kit.http import (
    PROBLEM_MEDIA_TYPE,
    CursorError,
    CursorParams,
    CursorValue,
    Page,
    create_app,
    cursor_params,
    decode_cursor,
    encode_cursor,
    paginate,
)

from .helpers import client_for

pytestmark = pytest.mark.unit

SECRET = b"cursor-secret"
KEY: tuple[CursorValue, ...] = (
    datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC),
    uuid.UUID("6c3f4b7e-3e26-4d0e-8d5b-2a1f5c9d0e11"),
    "name",
    3,
    1.5,
    True,
    None,
)


@pytest.mark.parametrize("secret", [None, SECRET])
def test_cursor_round_trips_types(secret: bytes | None) -> None:
    cursor = encode_cursor(KEY, secret)
    assert all(c.isalnum() or c in "-_." for c in cursor)
    assert decode_cursor(cursor, secret) == KEY


def test_signed_cursor_detects_tampering() -> None:
    cursor = encode_cursor(("a", 1), SECRET)
    payload, sig = cursor.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(["a", 2]).encode()).rstrip(b"=").decode()
    for bad in (f"{forged}.{sig}", payload, f"{payload}.{sig[:-2]}AA", f"{payload}."):
        with pytest.raises(CursorError):
            decode_cursor(bad, SECRET)
    with pytest.raises(CursorError):
        decode_cursor(cursor, b"other-secret")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "!!!",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),  # not a list
        base64.urlsafe_b64encode(b"[]").decode(),  # no key at all
        base64.urlsafe_b64encode(b'[{"evil": 1}]').decode(),  # unknown tag
        base64.urlsafe_b64encode(b"[[1, 2]]").decode(),  # nested list
        base64.urlsafe_b64encode(b'[{"dt": "yesterday"}]').decode(),
        "x" * 5000,
    ],
)
def test_garbage_cursor_is_a_cursor_error(bad: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(bad)


def test_paginate_emits_cursor_only_when_more_rows_exist() -> None:
    rows = [{"id": i} for i in range(4)]
    page = paginate(rows, 3, key=lambda r: (r["id"],))
    assert page.items == rows[:3]
    assert page.next_cursor is not None
    assert decode_cursor(page.next_cursor) == (2,)
    last = paginate(rows[:3], 3, key=lambda r: (r["id"],))
    assert last.next_cursor is None


def build() -> FastAPI:
    app = create_app("pages-test", "0")
    rows = list(range(1, 501))

    @app.get("/numbers")
    async def numbers(
        params: Annotated[CursorParams, Depends(cursor_params(secret=SECRET))],
    ) -> Page[int]:
        start = 0 if params.after is None else int(str(params.after[0]))
        window = [n for n in rows if n > start][: params.limit + 1]
        return paginate(window, params.limit, key=lambda n: (n,), secret=SECRET)

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build()) as c:
        yield c


async def test_pages_walk_to_the_end(client: httpx.AsyncClient) -> None:
    first = (await client.get("/numbers")).json()
    assert len(first["items"]) == 50
    seen = list(first["items"])
    cursor = first["next_cursor"]
    while cursor is not None:
        page = (await client.get("/numbers", params={"cursor": cursor, "limit": 200})).json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
    assert seen == list(range(1, 501))


async def test_tampered_cursor_is_400_problem(client: httpx.AsyncClient) -> None:
    cursor = (await client.get("/numbers")).json()["next_cursor"]
    r = await client.get("/numbers", params={"cursor": cursor[:-3] + "AAA"})
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("limit", [0, -1, 201, "many"])
async def test_limit_out_of_bounds_is_422(client: httpx.AsyncClient, limit: object) -> None:
    r = await client.get("/numbers", params={"limit": str(limit)})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("limit", [1, 200])
async def test_limit_bounds_are_inclusive(client: httpx.AsyncClient, limit: int) -> None:
    r = await client.get("/numbers", params={"limit": limit})
    assert r.status_code == 200
    assert len(r.json()["items"]) == limit


def test_default_limit_must_fit_max() -> None:
    with pytest.raises(ValueError, match="default_limit"):
        cursor_params(default_limit=300, max_limit=200)


def test_shaped_takes_a_cursor_of_the_lists_key_types_only() -> None:
    """Cursors are readable JSON: one of another list, or written by hand, must be a 400
    before its values reach SQL with the wrong types."""
    from agentsuite_kit.http.pagination import Int32, shaped
    from agentsuite_kit.http.problems import ProblemError

    tool = uuid.uuid4()
    key = (str, uuid.UUID)
    assert shaped(CursorParams(limit=1), *key) is None
    assert shaped(CursorParams(after=("a", tool), limit=1), *key) == ("a", tool)
    assert shaped(CursorParams(after=(1, tool), limit=1), float, uuid.UUID) == (1, tool)
    forged: list[tuple[CursorValue, ...]] = [
        ("x", 1, 2),
        (1e300, "id"),
        ("a\x00b", tool),
        ("\ud800", tool),
        (True, tool),
    ]
    for after in forged:
        with pytest.raises(ProblemError) as refused:
            shaped(CursorParams(after=after, limit=1), *key)
        problem = refused.value.problem.model_dump()
        assert (problem["status"], problem["code"]) == (400, "invalid_cursor")
    # keys the driver cannot send: naive or unconvertible datetimes, integers past bigint
    at = datetime(2020, 1, 1, tzinfo=UTC)
    assert shaped(CursorParams(after=(at, tool), limit=1), datetime, uuid.UUID) == (at, tool)
    assert shaped(CursorParams(after=(2**63 - 1,), limit=1), int) == (2**63 - 1,)
    assert shaped(CursorParams(after=(2**31 - 1,), limit=1), Int32) == (2**31 - 1,)
    off = timezone(timedelta(hours=5))
    unsendable: list[tuple[tuple[CursorValue, ...], tuple[type, ...]]] = [
        ((datetime(2020, 1, 1), tool), (datetime, uuid.UUID)),
        ((datetime(1, 1, 1, tzinfo=off), tool), (datetime, uuid.UUID)),
        (
            (datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5))), tool),
            (datetime, uuid.UUID),
        ),
        ((2**63,), (int,)),
        # an int4 column's key (a turn's seq): past 2**31 the driver refuses it
        ((2**31,), (Int32,)),
        ((-(2**31) - 1,), (Int32,)),
        ((True,), (Int32,)),
        (("1",), (Int32,)),
        ((-(2**63) - 1,), (int,)),
        ((10**400, tool), (float, uuid.UUID)),
    ]
    for after, shape in unsendable:
        with pytest.raises(ProblemError) as refused:
            shaped(CursorParams(after=after, limit=1), *shape)
        problem = refused.value.problem.model_dump()
        assert (problem["status"], problem["code"]) == (400, "invalid_cursor")
