"""The FastAPI glue against a stub verifier; real tokens are exercised in tests/integration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from agentsuite_kit.auth import AuthCode, AuthError, Principal
from agentsuite_kit.auth.fastapi import current_principal, require, require_verifier
from agentsuite_kit.http import create_app

pytestmark = pytest.mark.unit

TENANT = uuid.uuid4()
ORG = uuid.uuid4()


class StubVerifier:
    """`caps:<caps>` is a tenant user, `platform:<caps>` a tenantless platform principal."""

    async def authenticate(self, token: str) -> Principal:
        if token == "down":
            raise AuthError(AuthCode.JWKS_UNAVAILABLE, "signing keys are unavailable")
        if token == "hostile":
            raise AuthError(AuthCode.MALFORMED, 'bad "alg"\r\nX-Injected: 1\\')
        kind, _, caps = token.partition(":")
        if kind == "caps":
            return Principal.from_claims({"sub": "u-1", "tid": str(TENANT), "scope": caps})
        if kind == "platform":
            return Principal.from_claims({"sub": "ops", "kind": "platform", "scope": caps})
        if kind == "org":
            return Principal.from_claims(
                {"sub": "u-1", "tid": str(TENANT), "org": str(ORG), "scope": caps}
            )
        raise AuthError(AuthCode.EXPIRED, "token has expired")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


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

    @app.get("/audit")
    async def audit(
        p: Annotated[Principal, Depends(require("audit:read", platform=True))],
    ) -> dict[str, str | None]:
        return {"tenant": None if p.tenant_id is None else str(p.tenant_id)}

    @app.get("/orgs/mine")
    async def mine(
        p: Annotated[Principal, Depends(require("orgs:read", org=True))],
        q: Annotated[Principal, Depends(require("orgs:read"))],
    ) -> dict[str, str | None]:
        return {"org": None if p.org_id is None else str(p.org_id)}

    @app.get("/orgs/theirs")
    async def theirs(
        p: Annotated[Principal, Depends(require("orgs:read", org=True))],
    ) -> dict[str, str | None]:
        return {"org": None if p.org_id is None else str(p.org_id)}

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
    r = await client.get("/me", headers=bearer("old"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    body = r.json()
    assert body["code"] == "expired"
    assert body["status"] == 401
    assert body["detail"] == "token has expired"


async def test_error_description_cannot_break_out_of_its_header(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/me", headers=bearer("hostile"))
    assert r.status_code == 401
    challenge = r.headers["www-authenticate"]
    assert "x-injected" not in r.headers
    assert "\r" not in challenge
    assert "\n" not in challenge
    description = challenge.split('error_description="', 1)[1]
    assert description.endswith('"')
    # Inside the quoted string every quote and backslash is escaped.
    assert '"' not in description[:-1].replace('\\"', "").replace("\\\\", "")


async def test_unreachable_issuer_is_503_not_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers=bearer("down"))
    assert r.status_code == 503
    assert r.json()["code"] == "jwks_unavailable"
    assert r.headers["retry-after"]


async def test_missing_capability_is_403(client: httpx.AsyncClient) -> None:
    r = await client.post("/plans/1/approve", headers=bearer("caps:plans:read"))
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert r.json()["missing"] == ["plans:approve"]


async def test_wildcard_capability_passes(client: httpx.AsyncClient) -> None:
    r = await client.post("/plans/7/approve", headers={"Authorization": "bearer caps:plans:*"})
    assert r.status_code == 200
    assert r.json() == {"approved": 7}


async def test_tenantless_principal_cannot_reach_a_tenant_route(
    client: httpx.AsyncClient,
) -> None:
    for path, method in (("/me", "GET"), ("/plans/1/approve", "POST")):
        r = await client.request(method, path, headers=bearer("platform:*"))
        assert r.status_code == 403, path
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "tenant_required"


async def test_platform_route_admits_a_tenantless_principal(client: httpx.AsyncClient) -> None:
    r = await client.get("/audit", headers=bearer("platform:audit:read"))
    assert r.status_code == 200
    assert r.json() == {"tenant": None}


async def test_platform_route_admits_a_tenant_principal_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/audit", headers=bearer("caps:audit:read"))
    assert r.status_code == 200
    assert r.json() == {"tenant": str(TENANT)}


async def test_platform_route_still_checks_capabilities(client: httpx.AsyncClient) -> None:
    r = await client.get("/audit", headers=bearer("platform:plans:read"))
    assert r.status_code == 403
    assert r.json()["missing"] == ["audit:read"]


async def test_no_verifier_configured_is_500() -> None:
    app = build()
    del app.state.keyset
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/me", headers=bearer("caps:x"))
    assert r.status_code == 500
    assert "keyset" not in r.text


# --- require_verifier: a startup failure instead of a 500 per request -------------------------


def test_require_verifier_refuses_protected_routes_without_a_verifier() -> None:
    app = build()
    app.state.keyset = None
    with pytest.raises(RuntimeError, match=r"keyset.*/plans/\{plan_id\}/approve"):
        require_verifier(app)


def test_require_verifier_passes_when_a_verifier_is_set() -> None:
    require_verifier(build())


def test_require_verifier_passes_an_app_without_protected_routes() -> None:
    app = create_app("open", "0")

    @app.get("/open")
    async def open_route() -> dict[str, bool]:
        return {"ok": True}

    require_verifier(app)


async def acting_user(p: Annotated[Principal, Depends(current_principal)]) -> str:
    """A service's own dependency built on the kit's: module level, so FastAPI resolves it."""
    return p.subject


def test_require_verifier_finds_router_and_nested_dependencies() -> None:
    nested = create_app("nested", "0")

    @nested.get("/whoami")
    async def whoami(user: Annotated[str, Depends(acting_user)]) -> str:
        return user

    with pytest.raises(RuntimeError, match="/whoami"):
        require_verifier(nested)

    guarded = create_app("guarded", "0")
    router = APIRouter(dependencies=[Depends(require("plans:read"))])

    @router.get("/plans")
    async def plans() -> list[str]:
        return []

    guarded.include_router(router)
    with pytest.raises(RuntimeError, match="/plans"):
        require_verifier(guarded)


def test_require_verifier_ignores_routes_with_their_own_verifier() -> None:
    app = create_app("own", "0")

    @app.get("/own")
    async def own(
        p: Annotated[Principal, Depends(require("x", keyset=StubVerifier()))],
    ) -> str:
        return p.subject

    require_verifier(app)


def test_require_verifier_looks_into_mounted_apps() -> None:
    inner = create_app("inner", "0")

    @inner.get("/secret")
    async def secret(p: Annotated[Principal, Depends(current_principal)]) -> str:
        return p.subject

    outer = create_app("outer", "0")
    outer.state.keyset = StubVerifier()  # the outer app's verifier does not reach the mount
    outer.mount("/v2", inner)
    with pytest.raises(RuntimeError, match="/v2/secret"):
        require_verifier(outer)
    inner.state.keyset = StubVerifier()
    require_verifier(outer)


async def test_an_org_scoped_token_is_refused_by_tenant_wide_routes(
    client: httpx.AsyncClient,
) -> None:
    """Issue 21: a route is the tenant's unless it declares `org=True`."""
    for method, path in (("GET", "/me"), ("POST", "/plans/1/approve"), ("GET", "/audit")):
        r = await client.request(method, path, headers=bearer("org:*"))
        assert r.status_code == 403, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "org_scope"
    # one tenant-wide gate among org-confined ones refuses the whole route
    r = await client.get("/orgs/mine", headers=bearer("org:orgs:read"))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "org_scope"


async def test_an_org_scoped_token_passes_a_route_that_confines_itself(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/orgs/theirs", headers=bearer("org:orgs:read"))
    assert r.status_code == 200, r.text
    assert r.json() == {"org": str(ORG)}
    missing = await client.get("/orgs/theirs", headers=bearer("org:plans:read"))
    assert missing.status_code == 403
    assert missing.json()["code"] == "insufficient_capability"
    tenant_wide = await client.get("/orgs/theirs", headers=bearer("caps:orgs:read"))
    assert tenant_wide.status_code == 200, tenant_wide.text
    assert tenant_wide.json() == {"org": None}
