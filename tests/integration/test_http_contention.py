"""A handler's transaction that PostgreSQL aborts as a deadlock (40P01) met another
request, nothing is wrong with it: the edge answers 503 problem+json with Retry-After,
never 500, and a route that may run again (`RetryingRoute`) is retried in place."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
from fastapi import APIRouter

from agentsuite_kit.http.app import create_app
from tests.unit.kit_http.helpers import client_for


async def deadlock(url: str) -> None:
    """Two sessions take two advisory locks in opposite orders: PostgreSQL aborts one of
    them with 40P01, raised here; the other is let through."""
    one, two = secrets.randbelow(2**31), secrets.randbelow(2**31)
    a, b = await asyncpg.connect(url), await asyncpg.connect(url)
    held = asyncio.Barrier(2)

    async def take(conn: asyncpg.Connection, first: int, then: int) -> None:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", first)
            await held.wait()  # both hold their first lock before either asks for the other
            await conn.execute("SELECT pg_advisory_xact_lock($1)", then)

    try:
        results = await asyncio.gather(take(a, one, two), take(b, two, one), return_exceptions=True)
    finally:
        await a.close()
        await b.close()
    for r in results:
        if isinstance(r, BaseException):
            raise r


async def test_a_deadlocked_handler_is_a_503_with_retry_after(pg_admin_url: str) -> None:
    app = create_app("t", "1")

    @app.post("/stop")
    async def stop() -> dict[str, str]:
        await deadlock(pg_admin_url)
        return {"ok": "yes"}

    async with client_for(app) as client:
        r = await client.post("/stop")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == "contention"


async def test_a_retrying_route_runs_its_handler_again(pg_admin_url: str) -> None:
    from agentsuite_kit.http.contention import RetryingRoute

    app = create_app("t", "1")
    routes = APIRouter(route_class=RetryingRoute)
    tries: list[bytes] = []

    @routes.post("/stop")
    async def stop(body: dict[str, str]) -> dict[str, str]:
        tries.append(body["reason"].encode())
        if len(tries) == 1:
            await deadlock(pg_admin_url)
        return {"ok": body["reason"]}

    app.include_router(routes)
    async with client_for(app) as client:
        r = await client.post("/stop", json={"reason": "done"})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": "done"}
    assert tries == [b"done", b"done"]  # the body read once, parsed again
