from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from agentsuite_kit.http import (
    CORRELATION_HEADER,
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    create_app,
    install_problem_handlers,
)

from .helpers import client_for

pytestmark = pytest.mark.unit


class Body(BaseModel):
    name: str
    size: int


def build() -> FastAPI:
    app = create_app("problems-test", "0")

    @app.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    @app.post("/items")
    async def make(body: Body) -> Body:
        return body

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("postgresql://admin:hunter2@db/prod")

    @app.get("/conflict")
    async def conflict() -> None:
        raise ProblemError(
            409,
            "Plan 7 is already approved.",
            type="https://agentsuite.dev/problems/already-approved",
            headers={"X-Thing": "1"},
            plan_id=7,
        )

    @app.get("/teapot")
    async def teapot() -> None:
        raise HTTPException(418, "short and stout", headers={"X-Tea": "earl-grey"})

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(build()) as c:
        yield c


async def test_path_validation_is_422_with_field_errors(client: httpx.AsyncClient) -> None:
    r = await client.get("/items/abc")
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = r.json()
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus.UNPROCESSABLE_ENTITY.phrase
    assert body["status"] == 422
    assert body["errors"] == [
        {"loc": ["path", "item_id"], "msg": body["errors"][0]["msg"], "type": "int_parsing"}
    ]


async def test_body_validation_lists_every_field_and_echoes_no_input(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/items", json={"size": "secret-value"})
    assert r.status_code == 422
    locs = sorted(tuple(e["loc"]) for e in r.json()["errors"])
    assert locs == [("body", "name"), ("body", "size")]
    assert "secret-value" not in r.text


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.json()["title"] == "Not Found"
    assert "detail" not in r.json()


async def test_wrong_method_is_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    r = await client.delete("/items/1")
    assert r.status_code == 405
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "GET" in r.headers["allow"]


async def test_unhandled_error_is_500_without_leak(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom", headers={CORRELATION_HEADER: "req-42"})
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.headers[CORRELATION_HEADER] == "req-42"
    body = r.json()
    assert body["status"] == 500
    assert body["correlation_id"] == "req-42"
    assert "hunter2" not in r.text
    assert "RuntimeError" not in r.text
    assert "Traceback" not in r.text


async def test_problem_error_keeps_type_extensions_and_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict")
    assert r.status_code == 409
    assert r.headers["x-thing"] == "1"
    body = r.json()
    assert body["type"] == "https://agentsuite.dev/problems/already-approved"
    assert body["title"] == "Conflict"
    assert body["detail"] == "Plan 7 is already approved."
    assert body["plan_id"] == 7


async def test_http_exception_becomes_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/teapot")
    assert r.status_code == 418
    assert r.headers["x-tea"] == "earl-grey"
    assert r.json()["detail"] == "short and stout"


async def test_handlers_work_without_create_app() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("do not show me")

    async with client_for(app) as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert "do not show me" not in r.text
