"""Tampered list cursors, and the walk over every list route of an app that the services'
tampered-cursor tests share.

Cursors are readable base64url JSON, unsigned: anyone can write one, or hand one list's
cursor to another. A cursor that cannot be that list's key must be a 400 problem with code
`invalid_cursor` before it reaches SQL (wrong types there are a 500).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
from fastapi import FastAPI

PROBLEM = "application/problem+json"


def b64(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _j(values: list[Any]) -> str:
    return b64(json.dumps(values))


def never_fits() -> list[str]:
    """Cursors no list's key can be: each must be a 400 `invalid_cursor`."""
    uid = {"uuid": str(uuid4())}
    aware = {"dt": "2020-01-01T00:00:00+00:00"}
    return [
        "garbage",
        "=" * 50,
        "x" * 20_000,
        b64(b"\x00" * 40),
        b64('["x", 1, 2]'),
        b64('[1e999, "id"]'),
        b64("[1e999]"),
        _j([{"uuid": "not-a-uuid"}]),
        _j([{"uuid": "not-a-uuid"}, {"uuid": "not-a-uuid"}]),
        _j([{"dt": "not-a-date"}, uid]),
        _j([{"dt": "2020-01-01T00:00:00"}, 5]),
        _j([{"dt": "2020-01-01T00:00:00"}, uid]),  # naive: no list's key is
        _j([{"dt": "0001-01-01T00:00:00+05:00"}, uid]),  # before year 1 in UTC
        _j([{"dt": "9999-12-31T23:59:59-05:00"}, uid]),  # after year 9999 in UTC
        _j([uid, aware]),
        _j([aware, "not-a-uuid"]),
        _j([None, uid]),
        _j([aware]),
        _j(["a", "b", "c", "d", "e"]),
        _j([aware, uid, "x", 1, True]),
        _j([[1]]),
        _j([{}]),
        _j([{"dt": "2020-01-01T00:00:00+00:00", "uuid": str(uuid4())}]),
        _j([True]),
        _j([True, uid]),
        _j([1.5]),
        _j([10**30]),
        _j([-(10**30)]),
        _j([10**30, uid]),
        _j(["a\u0000b"]),
        _j(["a\u0000b", uid]),
        _j(["a\u0000b", "b"]),
        b64('["\\ud800"]'),
        b64('["\\ud800", ' + json.dumps(uid) + "]"),
    ]


def may_fit() -> list[str]:
    """Well-formed keys of some list: each is a 200 where it is that list's key shape, else
    a 400 `invalid_cursor`; never a 5xx."""
    uid = {"uuid": str(uuid4())}
    aware = {"dt": "2020-01-01T00:00:00+00:00"}
    return [
        _j([aware, uid]),
        _j(["name", uid]),
        _j(["key"]),
        _j([5]),
        # a bigint key, past an int4 column's range (a DataError at the driver there)
        _j([2**31]),
        _j([-(2**31) - 1]),
        _j(["tenant", "subject"]),
    ]


def cursor_paths(app: FastAPI) -> list[str]:
    """Every GET path of the app's OpenAPI that takes a `cursor` query parameter."""
    spec = app.openapi()
    out: list[str] = []
    for path, ops in spec["paths"].items():
        get = ops.get("get")
        if get is None:
            continue
        params = get.get("parameters", [])
        if any(p.get("in") == "query" and p.get("name") == "cursor" for p in params):
            out.append(path)
    return sorted(out)


@dataclass
class Walk:
    failures: list[str]
    calls: int = 0


async def walk(call: Callable[[str, str], Awaitable[httpx.Response]], urls: list[str]) -> list[str]:
    """GET each list url with each tampered cursor (`call(url, cursor)`); the failures."""
    done = Walk([])
    for url in urls:
        for cursor in never_fits():
            r = await call(url, cursor)
            done.calls += 1
            if not _invalid_cursor(r):
                done.failures.append(_line(url, cursor, r))
        for cursor in may_fit():
            r = await call(url, cursor)
            done.calls += 1
            if r.status_code != 200 and not _invalid_cursor(r):
                done.failures.append(_line(url, cursor, r))
    assert done.calls, "no list route walked"
    return done.failures


def _invalid_cursor(r: httpx.Response) -> bool:
    if r.status_code != 400 or r.headers.get("content-type", "").split(";")[0] != PROBLEM:
        return False
    body = r.json()
    return isinstance(body, dict) and body.get("code") == "invalid_cursor"


def _line(url: str, cursor: str, r: httpx.Response) -> str:
    try:
        shown = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))[:80]
    except ValueError:
        shown = cursor[:40].encode()
    return f"{url} cursor={shown!r}: {r.status_code} {r.text[:160]}"
