from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from agentsuite_kit.http import CORRELATION_HEADER, create_app
from agentsuite_kit.logging import correlation_id

from .helpers import client_for

pytestmark = pytest.mark.unit


def build() -> FastAPI:
    app = create_app("metrics-test", "0")

    @app.get("/plans/{plan_id}")
    async def plan(plan_id: int) -> dict[str, str | None]:
        return {"cid": correlation_id.get()}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    return app


def sample(text: str, method: str, route: str, status: int) -> float | None:
    prefix = f'http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return None


async def test_requests_are_counted_by_route_template() -> None:
    async with client_for(build()) as c:
        for plan_id in (1, 2, 3):
            assert (await c.get(f"/plans/{plan_id}")).status_code == 200
        await c.get("/plans/nope")
        await c.get("/boom")
        await c.get(f"/random/{uuid.uuid4()}")
        r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert sample(text, "GET", "/plans/{plan_id}", 200) == 3
    assert sample(text, "GET", "/plans/{plan_id}", 422) == 1
    assert sample(text, "GET", "/boom", 500) == 1
    assert sample(text, "GET", "<unmatched>", 404) == 1
    assert "/plans/1" not in text
    assert 'http_request_duration_seconds_count{method="GET",route="/plans/{plan_id}"} 4.0' in text


async def test_apps_keep_separate_registries() -> None:
    first, second = build(), build()
    async with client_for(first) as a, client_for(second) as b:
        await a.get("/plans/1")
        await a.get("/plans/1")
        await b.get("/plans/1")
        text_a = (await a.get("/metrics")).text
        text_b = (await b.get("/metrics")).text
    assert sample(text_a, "GET", "/plans/{plan_id}", 200) == 2
    assert sample(text_b, "GET", "/plans/{plan_id}", 200) == 1


async def test_correlation_id_is_echoed_and_visible_to_handlers() -> None:
    async with client_for(build()) as c:
        r = await c.get("/plans/1", headers={CORRELATION_HEADER: "abc-123"})
    assert r.headers[CORRELATION_HEADER] == "abc-123"
    assert r.json() == {"cid": "abc-123"}


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 200, "new\\nline"])
async def test_missing_or_unsafe_correlation_id_is_replaced(sent: str | None) -> None:
    headers = {} if sent is None else {CORRELATION_HEADER: sent}
    async with client_for(build()) as c:
        r = await c.get("/plans/1", headers=headers)
    cid = r.headers[CORRELATION_HEADER]
    assert uuid.UUID(cid)
    assert r.json() == {"cid": cid}
    assert correlation_id.get() is None
