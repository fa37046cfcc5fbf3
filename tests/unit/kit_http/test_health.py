from __future__ import annotations

import asyncio

import pytest

from agentsuite_kit.http import PROBLEM_MEDIA_TYPE, create_app

from .helpers import client_for

pytestmark = pytest.mark.unit


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("db.internal:5432 refused, password=hunter2")


async def hangs() -> None:
    await asyncio.Event().wait()


async def test_healthz_is_200_even_when_dependencies_fail() -> None:
    async with client_for(create_app("h", "0", {"db": broken})) as c:
        r = await c.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_readyz_200_lists_checks() -> None:
    async with client_for(create_app("h", "0", {"db": ok, "kafka": ok})) as c:
        r = await c.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "checks": {"db": "ok", "kafka": "ok"}}


async def test_readyz_without_checks_is_ready() -> None:
    async with client_for(create_app("h", "0")) as c:
        r = await c.get("/readyz")
    assert r.status_code == 200


async def test_readyz_503_names_failing_checks_without_their_errors() -> None:
    app = create_app("h", "0", {"db": broken, "kafka": ok, "cache": hangs}, check_timeout=0.05)
    async with client_for(app) as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["checks"] == {"db": "failed", "kafka": "ok", "cache": "timeout"}
    assert "db" in body["detail"]
    assert "cache" in body["detail"]
    assert "hunter2" not in r.text
