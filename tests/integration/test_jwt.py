"""JWT verification against a real JWKS server on 127.0.0.1, with real keys and signatures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import Depends
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet, JwtConfig, Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http import PROBLEM_MEDIA_TYPE, create_app

pytestmark = pytest.mark.integration

ISSUER = "https://identity.agentsuite.test"
AUDIENCE = "agentsuite"
TENANT = uuid.uuid4()

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "RS256"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "ES256"}


def ed_jwk(key: ed25519.Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    # No "alg" member on purpose: the key type and curve alone must select EdDSA.
    return {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


def default_keys() -> list[dict[str, Any]]:
    return [rsa_jwk(RSA_KEY, "rsa-1"), ec_jwk(EC_KEY, "ec-1"), ed_jwk(ED_KEY, "ed-1")]


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "tid": str(TENANT),
        "iat": now,
        "exp": now + 300,
        "caps": ["plans:read"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: Any, kid: str, alg: str = "RS256", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], body: dict[str, Any], hs256_secret: bytes | None) -> str:
    """Build a token by hand: PyJWT itself refuses to make these."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    if hs256_secret is None:
        return f"{signing_input}."
    mac = hmac.new(hs256_secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@dataclass
class JwksServer:
    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=default_keys)
    hits: int = 0
    failing: bool = False

    async def jwks(self, request: Request) -> JSONResponse:
        self.hits += 1
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=500)
        return JSONResponse({"keys": self.keys})


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[JwksServer]:
    state = JwksServer()
    app = Starlette(routes=[Route("/.well-known/jwks.json", state.jwks)])
    # Binding port 0 ourselves and handing uvicorn the socket leaves no window for a port race.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(uv.serve(sockets=[sock]))
    while not uv.started:
        if task.done():
            task.result()  # surfaces why the server could not start
        await asyncio.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    yield state
    uv.should_exit = True
    await task
    sock.close()


@pytest.fixture
def jwks(server: JwksServer) -> JwksServer:
    server.keys = default_keys()
    server.hits = 0
    server.failing = False
    return server


class Clock:
    """Monotonic time the test moves by hand, so throttling is proven without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def keyset(jwks: JwksServer, clock: Clock) -> AsyncIterator[JwksKeySet]:
    config = JwtConfig(jwks_url=jwks.url, issuer=ISSUER, audience=AUDIENCE)
    async with JwksKeySet(config, clock=clock) as ks:
        yield ks


async def rejected(keyset: JwksKeySet, token: str) -> AuthCode:
    with pytest.raises(AuthError) as caught:
        await keyset.verify(token)
    return caught.value.code


# --- acceptance -------------------------------------------------------------------------------


async def test_valid_rs256_token_yields_principal(keyset: JwksKeySet, jwks: JwksServer) -> None:
    principal = await keyset.authenticate(sign(RSA_KEY, "rsa-1", scope="runs:read"))
    assert principal.subject == "user-1"
    assert principal.tenant_id == TENANT
    assert principal.capabilities == frozenset({"plans:read", "runs:read"})
    assert jwks.hits == 1


async def test_valid_es256_token(keyset: JwksKeySet) -> None:
    assert (await keyset.verify(sign(EC_KEY, "ec-1", "ES256")))["sub"] == "user-1"


async def test_valid_eddsa_token_from_key_without_alg(keyset: JwksKeySet) -> None:
    assert (await keyset.verify(sign(ED_KEY, "ed-1", "EdDSA")))["sub"] == "user-1"


async def test_keys_are_cached_between_tokens(keyset: JwksKeySet, jwks: JwksServer) -> None:
    for _ in range(5):
        await keyset.verify(sign(RSA_KEY, "rsa-1"))
        await keyset.verify(sign(EC_KEY, "ec-1", "ES256"))
    assert jwks.hits == 1


async def test_leeway_accepts_slightly_expired_token(keyset: JwksKeySet) -> None:
    now = int(time.time())
    await keyset.verify(sign(RSA_KEY, "rsa-1", iat=now - 600, exp=now - 10))


async def test_audience_list_containing_ours_is_accepted(keyset: JwksKeySet) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1", aud=["billing", AUDIENCE]))


# --- rejection --------------------------------------------------------------------------------


async def test_alg_none_is_rejected(keyset: JwksKeySet) -> None:
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "typ": "JWT", "kid": "rsa-1"}, claims(), None)
        assert await rejected(keyset, token) is AuthCode.ALG_NONE


async def test_hs256_signed_with_public_key_is_rejected(keyset: JwksKeySet) -> None:
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(rsa_jwk(RSA_KEY, "rsa-1")).encode()
    for secret in (pem, jwk_text):
        token = forge({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims(), secret)
        assert await rejected(keyset, token) is AuthCode.ALG_NOT_ALLOWED


async def test_signature_from_another_key_with_same_kid_is_rejected(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    assert await rejected(keyset, sign(OTHER_RSA_KEY, "rsa-1")) is AuthCode.BAD_SIGNATURE
    assert jwks.hits == 1  # a known kid with a bad signature is no reason to refetch


async def test_token_alg_must_match_the_keys_type(keyset: JwksKeySet) -> None:
    # An RS256 header pointing at the EC key: the JWK's kty/alg pins what it may verify.
    assert await rejected(keyset, sign(RSA_KEY, "ec-1")) is AuthCode.ALG_MISMATCH
    assert await rejected(keyset, sign(EC_KEY, "rsa-1", "ES256")) is AuthCode.ALG_MISMATCH


async def test_algorithm_outside_the_pinned_list_is_rejected(keyset: JwksKeySet) -> None:
    token = sign(RSA_KEY, "rsa-1", "PS256")
    assert await rejected(keyset, token) is AuthCode.ALG_NOT_ALLOWED


async def test_expired_token_is_rejected(keyset: JwksKeySet) -> None:
    now = int(time.time())
    token = sign(RSA_KEY, "rsa-1", iat=now - 7200, exp=now - 3600)
    assert await rejected(keyset, token) is AuthCode.EXPIRED


async def test_token_from_the_future_is_rejected(keyset: JwksKeySet) -> None:
    now = int(time.time())
    issued_later = sign(RSA_KEY, "rsa-1", iat=now + 3600, exp=now + 7200)
    assert await rejected(keyset, issued_later) is AuthCode.NOT_YET_VALID
    not_before = sign(RSA_KEY, "rsa-1", nbf=now + 3600)
    assert await rejected(keyset, not_before) is AuthCode.NOT_YET_VALID


async def test_wrong_audience_is_rejected(keyset: JwksKeySet) -> None:
    token = sign(RSA_KEY, "rsa-1", aud="someone-else")
    assert await rejected(keyset, token) is AuthCode.WRONG_AUDIENCE


async def test_wrong_issuer_is_rejected(keyset: JwksKeySet) -> None:
    token = sign(RSA_KEY, "rsa-1", iss="https://evil.test")
    assert await rejected(keyset, token) is AuthCode.WRONG_ISSUER


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "iss", "aud"])
async def test_missing_required_claim_is_rejected(keyset: JwksKeySet, claim: str) -> None:
    token = jwt.encode(
        claims(**{claim: None}), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"}
    )
    assert await rejected(keyset, token) is AuthCode.MISSING_CLAIM


async def test_missing_tenant_is_rejected(keyset: JwksKeySet) -> None:
    with pytest.raises(AuthError) as caught:
        await keyset.authenticate(sign(RSA_KEY, "rsa-1", tid=None))
    assert caught.value.code is AuthCode.MISSING_CLAIM


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "💥.💥.💥"])
async def test_malformed_token_is_rejected(keyset: JwksKeySet, token: str) -> None:
    assert await rejected(keyset, token) is AuthCode.MALFORMED


async def test_token_without_kid_is_rejected(keyset: JwksKeySet) -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256")
    assert await rejected(keyset, token) is AuthCode.MALFORMED


# --- refresh, throttling, rotation ------------------------------------------------------------


async def test_unknown_kid_refreshes_once_and_is_throttled(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 1
    clock.advance(31)
    stranger = sign(OTHER_RSA_KEY, "rsa-unknown")
    assert await rejected(keyset, stranger) is AuthCode.UNKNOWN_KID
    assert jwks.hits == 2
    for _ in range(5):
        assert await rejected(keyset, stranger) is AuthCode.UNKNOWN_KID
    assert jwks.hits == 2
    clock.advance(29)
    assert await rejected(keyset, stranger) is AuthCode.UNKNOWN_KID
    assert jwks.hits == 2


async def test_concurrent_unknown_kids_share_one_fetch(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    clock.advance(31)
    tokens = [sign(OTHER_RSA_KEY, f"kid-{i}") for i in range(20)]
    results = await asyncio.gather(*(keyset.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, AuthError) and r.code is AuthCode.UNKNOWN_KID for r in results)
    assert jwks.hits == 2


async def test_first_use_from_cold_cache_fetches_once(keyset: JwksKeySet, jwks: JwksServer) -> None:
    tokens = [sign(RSA_KEY, "rsa-1") for _ in range(10)] + [sign(RSA_KEY, "gone")]
    await asyncio.gather(*(keyset.verify(t) for t in tokens), return_exceptions=True)
    assert jwks.hits == 1


async def test_rotated_in_key_is_picked_up_on_first_use(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    jwks.keys = [*jwks.keys, rsa_jwk(OTHER_RSA_KEY, "rsa-2")]
    clock.advance(31)
    assert (await keyset.verify(sign(OTHER_RSA_KEY, "rsa-2")))["sub"] == "user-1"
    assert jwks.hits == 2
    assert "rsa-2" in keyset.kids


async def test_rotated_out_key_stops_verifying_after_ttl(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    jwks.keys = [ec_jwk(EC_KEY, "ec-1")]
    clock.advance(601)
    assert await rejected(keyset, sign(RSA_KEY, "rsa-1")) is AuthCode.UNKNOWN_KID
    assert jwks.hits == 2


async def test_issuer_outage_keeps_cached_keys(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    jwks.failing = True
    clock.advance(601)
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 2
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 2  # failed fetches are throttled too


async def test_issuer_down_from_the_start_is_unavailable(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    jwks.failing = True
    assert await rejected(keyset, sign(RSA_KEY, "rsa-1")) is AuthCode.JWKS_UNAVAILABLE


async def test_symmetric_keys_in_the_jwks_never_verify(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    secret = b"published-for-all-to-see"
    jwks.keys = [{"kty": "oct", "kid": "oct-1", "k": b64(secret), "alg": "HS256"}]
    token = forge({"alg": "HS256", "kid": "oct-1"}, claims(), secret)
    assert await rejected(keyset, token) is AuthCode.ALG_NOT_ALLOWED
    assert await rejected(keyset, sign(RSA_KEY, "oct-1")) is AuthCode.ALG_MISMATCH


# --- through FastAPI --------------------------------------------------------------------------


async def test_require_capability_end_to_end(keyset: JwksKeySet) -> None:
    app = create_app("planning-test", "0")
    app.state.keyset = keyset

    @app.post("/plans/{plan_id}/approve")
    async def approve(
        plan_id: int, principal: Annotated[Principal, Depends(require("plans:approve"))]
    ) -> dict[str, Any]:
        return {"plan": plan_id, "by": principal.subject, "tenant": str(principal.tenant_id)}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        anonymous = await client.post("/plans/7/approve")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert anonymous.headers["www-authenticate"] == "Bearer"

        forged = forge({"alg": "none", "kid": "rsa-1"}, claims(caps=["*"]), None)
        bad = await client.post("/plans/7/approve", headers={"Authorization": f"Bearer {forged}"})
        assert bad.status_code == 401
        assert bad.json()["code"] == "alg_none"
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]

        reader = sign(RSA_KEY, "rsa-1", caps=["plans:read"])
        weak = await client.post("/plans/7/approve", headers={"Authorization": f"Bearer {reader}"})
        assert weak.status_code == 403
        assert weak.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert weak.json()["missing"] == ["plans:approve"]

        approver = sign(EC_KEY, "ec-1", "ES256", caps=["plans:read", "plans:approve"])
        ok = await client.post("/plans/7/approve", headers={"Authorization": f"Bearer {approver}"})
        assert ok.status_code == 200
        assert ok.json() == {"plan": 7, "by": "user-1", "tenant": str(TENANT)}
