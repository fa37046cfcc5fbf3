"""The kit's one error family: the domain names the kind, the edge picks the status."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from agentsuite_kit.errors import (
    Conflict,
    DomainError,
    Exhausted,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    RateLimited,
    TimedOut,
    Unavailable,
)
from agentsuite_kit.http.app import create_app

CASES = [
    (Invalid, 422),
    (DomainError, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Forbidden, 403),
    (PreconditionFailed, 412),
    (Exhausted, 402),
    (RateLimited, 429),
    (Unavailable, 502),
    (TimedOut, 504),
]


@pytest.mark.parametrize(("error", "status"), CASES)
def test_a_domain_error_escaping_a_route_is_its_kinds_problem(
    error: type[DomainError], status: int
) -> None:
    app = create_app("t", "1")
    router = APIRouter()

    @router.post("/x")
    async def refuse() -> None:
        raise error("some_rule", "the rule says no", field="steps[2].tool", extensions={"left": 3})

    app.include_router(router)
    reply = TestClient(app).post("/x", json={})
    assert reply.status_code == status
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert body["code"] == "some_rule"
    assert body["detail"] == "the rule says no"
    assert body["field"] == "steps[2].tool"
    assert body["left"] == 3
    if status == 422:
        assert body["errors"][0]["loc"] == ["body", "steps", 2, "tool"]
