"""A transaction PostgreSQL aborted as a deadlock under a gateway route (the hot OpenAI
routes answer faults themselves, api/fast.py) is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import asyncpg
import orjson
import pytest
from sqlalchemy.exc import DBAPIError
from starlette.requests import Request

from agentsuite_llm_gateway.api.errors import on_unhandled


def _request(path: str) -> Request:
    return Request(
        {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    )


def _deadlock() -> Exception:
    driver = asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
    return DBAPIError("SELECT ... FOR UPDATE", {}, driver)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/budgets"])
async def test_a_deadlock_is_a_503_with_retry_after(path: str) -> None:
    response = await on_unhandled(_request(path), _deadlock())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    body = orjson.loads(bytes(response.body))
    assert body["code"] == "contention"
    if path == "/v1/chat/completions":
        assert body["error"]["type"] == "api_error"
