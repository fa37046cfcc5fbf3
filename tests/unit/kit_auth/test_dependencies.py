"""The FastAPI glue against a stub verifier; real tokens are exercised in tests/integration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI

from agentsuite_kit.auth import AuthCode, AuthError, Principal
from agentsuite_kit.auth.fastapi import current_principal, require
from agentsuite_kit.http import create_app

pytestmark = pytest.mark.unit


class StubVerifier:
    """Accepts tokens of the form `caps:<space-separated caps>`; anything else has expired."""

    async def authenticate(self, token: str) -> Principal:
        if token == "down":
            raise AuthError(AuthCode.JWKS_UNAVAILABLE, "signing keys are unavailable")
        if not token.startswith("caps:"):
            raise AuthError(AuthCode.EXPIRED, "token has expired")
        return Principal.from_claims(
            {"sub": "u-1", "tid": str(uuid.uuid4()), "scope": token.removeprefix("caps:")}
        )


def build() -> FastAPI:
    app = create_app("auth-test", "0")
    app.state.keyset = StubVerifier()

    @app.get("/me")
    async def me(p: Annotated[Principal, Depends(current_principal)]) -> dict[str, str]:
        return {"sub": p.subject}

    @app.post("/plans/{plan_id}/approve")
    async def approve(
        plan_id: int, p: Annotated[Principal, Depends(require("plans:approve"))]
    ) -> dict[str, int]:
        return {"approved": plan_id}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_missing_token_is_401_without_error_code(client: httpx.AsyncClient) -> None:
    r = await client.get("/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "missing_token"


async def test_non_bearer_scheme_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers={"Authorization": "Basic dTpw"})
    assert r.status_code == 401


async def test_rejected_token_is_401_invalid_token(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers={"Authorization": "Bearer old"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    body = r.json()
    assert body["code"] == "expired"
    assert body["status"] == 401
    assert body["detail"] == "token has expired"


async def test_unreachable_issuer_is_503_not_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers={"Authorization": "Bearer down"})
    assert r.status_code == 503
    assert r.json()["code"] == "jwks_unavailable"


async def test_missing_capability_is_403(client: httpx.AsyncClient) -> None:
    r = await client.post("/plans/1/approve", headers={"Authorization": "Bearer caps:plans:read"})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert r.json()["missing"] == ["plans:approve"]


async def test_wildcard_capability_passes(client: httpx.AsyncClient) -> None:
    r = await client.post("/plans/7/approve", headers={"Authorization": "bearer caps:plans:*"})
    assert r.status_code == 200
    assert r.json() == {"approved": 7}


async def test_no_verifier_configured_is_500() -> None:
    app = build()
    del app.state.keyset
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/me", headers={"Authorization": "Bearer caps:x"})
    assert r.status_code == 500
    assert "keyset" not in r.text
