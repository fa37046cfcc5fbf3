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
from collections.abc import AsyncIterator, Callable
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


def sign(
    key: Any, kid: str, alg: str = "RS256", typ: str | None = "at+jwt", **overrides: Any
) -> str:
    # typ None drops the header member altogether (PyJWT omits an empty typ).
    return jwt.encode(claims(**overrides), key, algorithm=alg, headers={"kid": kid, "typ": typ})


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
    delay: float = 0.0

    async def jwks(self, request: Request) -> JSONResponse:
        self.hits += 1
        if self.delay:
            await asyncio.sleep(self.delay)
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
    server.delay = 0.0
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


def config(jwks: JwksServer, **overrides: Any) -> JwtConfig:
    return JwtConfig.model_validate(
        {"jwks_url": jwks.url, "issuer": ISSUER, "audience": AUDIENCE, **overrides}
    )


@pytest.fixture
async def keyset(jwks: JwksServer, clock: Clock) -> AsyncIterator[JwksKeySet]:
    async with JwksKeySet(config(jwks), clock=clock) as ks:
        yield ks


KeySetFactory = Callable[..., JwksKeySet]


@pytest.fixture
async def make_keyset(jwks: JwksServer) -> AsyncIterator[KeySetFactory]:
    """Keysets with their own config (not started), closed when the test ends."""
    made: list[JwksKeySet] = []

    def make(clock: Callable[[], float] = time.monotonic, **overrides: Any) -> JwksKeySet:
        ks = JwksKeySet(config(jwks, **overrides), clock=clock)
        made.append(ks)
        return ks

    yield make
    for ks in made:
        await ks.aclose()


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        # Polling is the point: the condition is state another task changes, with no event.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


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
    headers = {"kid": "rsa-1", "typ": "at+jwt"}
    token = jwt.encode(claims(**{claim: None}), RSA_KEY, algorithm="RS256", headers=headers)
    assert await rejected(keyset, token) is AuthCode.MISSING_CLAIM


async def test_missing_tenant_is_rejected(keyset: JwksKeySet) -> None:
    with pytest.raises(AuthError) as caught:
        await keyset.authenticate(sign(RSA_KEY, "rsa-1", tid=None))
    assert caught.value.code is AuthCode.MISSING_CLAIM


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "💥.💥.💥"])
async def test_malformed_token_is_rejected(keyset: JwksKeySet, token: str) -> None:
    assert await rejected(keyset, token) is AuthCode.MALFORMED


async def test_token_without_kid_is_rejected(keyset: JwksKeySet) -> None:
    token = jwt.encode(claims(), RSA_KEY, algorithm="RS256", headers={"typ": "at+jwt"})
    assert await rejected(keyset, token) is AuthCode.MALFORMED


@pytest.mark.parametrize("typ", ["JWT", "refresh+jwt", "id+jwt", "application/jwt", None])
async def test_tokens_that_are_not_access_tokens_are_rejected(
    keyset: JwksKeySet, typ: str | None
) -> None:
    assert await rejected(keyset, sign(RSA_KEY, "rsa-1", typ=typ)) is AuthCode.WRONG_TYPE


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
async def test_access_token_type_is_accepted_in_any_spelling(keyset: JwksKeySet, typ: str) -> None:
    # RFC 7515 §4.1.9: media types are case-insensitive and "application/" may be omitted.
    assert (await keyset.verify(sign(RSA_KEY, "rsa-1", typ=typ)))["sub"] == "user-1"


async def test_accepted_token_types_are_configurable(make_keyset: KeySetFactory) -> None:
    ks = make_keyset(token_types=("at+jwt", "JWT"))
    await ks.verify(sign(RSA_KEY, "rsa-1", typ="JWT"))
    await ks.verify(sign(RSA_KEY, "rsa-1"))
    assert await rejected(ks, sign(RSA_KEY, "rsa-1", typ="refresh+jwt")) is AuthCode.WRONG_TYPE


async def test_rejection_detail_does_not_echo_the_token_header(keyset: JwksKeySet) -> None:
    hostile = 'RS256"\r\nX-Injected: 1'
    for header in ({"alg": hostile, "kid": "rsa-1"}, {"alg": "RS256", "typ": hostile}):
        token = forge({"kid": "rsa-1", **header}, claims(), b"x")
        with pytest.raises(AuthError) as caught:
            await keyset.verify(token)
        assert "Injected" not in caught.value.detail


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


async def test_keyset_never_started_fetches_once_on_first_use(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    ks = make_keyset()
    tokens = [sign(RSA_KEY, "rsa-1") for _ in range(10)] + [sign(RSA_KEY, "gone")]
    results = await asyncio.gather(*(ks.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, dict) for r in results[:10])
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


async def test_rotated_out_key_stops_verifying_after_a_refresh(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    jwks.keys = [ec_jwk(EC_KEY, "ec-1")]
    assert await keyset.refresh() is True
    assert await rejected(keyset, sign(RSA_KEY, "rsa-1")) is AuthCode.UNKNOWN_KID
    assert jwks.hits == 2


async def test_known_kid_never_waits_for_a_fetch(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    # Past the refresh interval but within the staleness bound: the background task refreshes,
    # a request never does.
    clock.advance(keyset.config.refresh_interval * 3)
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 1


async def test_issuer_outage_keeps_cached_keys_until_max_staleness(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    jwks.failing = True
    assert await keyset.refresh() is False
    clock.advance(keyset.config.max_staleness - 1)
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    clock.advance(2)
    with pytest.raises(AuthError) as caught:
        await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert caught.value.code is AuthCode.JWKS_UNAVAILABLE
    assert "stale" in caught.value.detail
    with pytest.raises(RuntimeError, match="stale"):
        await keyset.check()
    jwks.failing = False
    assert await keyset.refresh() is True
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    await keyset.check()


async def test_stale_keys_trigger_one_throttled_fetch(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    jwks.failing = True
    clock.advance(keyset.config.max_staleness + 1)
    for _ in range(5):
        assert await rejected(keyset, sign(RSA_KEY, "rsa-1")) is AuthCode.JWKS_UNAVAILABLE
    assert jwks.hits == 2
    jwks.failing = False
    clock.advance(keyset.config.min_refresh_interval)
    await keyset.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 3


async def test_issuer_down_at_start_does_not_fail_startup(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    jwks.failing = True
    ks = make_keyset()
    assert await ks.start() is False
    assert ks.age is None
    assert await rejected(ks, sign(RSA_KEY, "rsa-1")) is AuthCode.JWKS_UNAVAILABLE
    with pytest.raises(RuntimeError, match="not loaded"):
        await ks.check()


async def test_start_loads_keys_before_any_request(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    ks = make_keyset()
    assert await ks.start() is True
    assert jwks.hits == 1
    assert ks.kids == {"rsa-1", "ec-1", "ed-1"}
    await ks.check()
    await ks.verify(sign(RSA_KEY, "rsa-1"))
    assert jwks.hits == 1


async def test_background_retries_until_the_issuer_answers(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    jwks.failing = True
    ks = make_keyset(retry_backoff=0.01)
    assert await ks.start() is False
    await until(lambda: jwks.hits >= 3)  # backing off, still trying
    jwks.failing = False
    await until(lambda: ks.age is not None)
    await ks.verify(sign(RSA_KEY, "rsa-1"))
    await ks.check()


async def test_background_refresh_picks_up_rotation_without_a_request(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    ks = make_keyset(refresh_interval=0.05)
    await ks.start()
    jwks.keys = [ec_jwk(EC_KEY, "ec-1"), rsa_jwk(OTHER_RSA_KEY, "rsa-2")]
    await until(lambda: ks.kids == {"ec-1", "rsa-2"})
    hits = jwks.hits
    await ks.verify(sign(OTHER_RSA_KEY, "rsa-2"))
    assert await rejected(ks, sign(RSA_KEY, "rsa-1")) is AuthCode.UNKNOWN_KID
    assert jwks.hits - hits <= 1  # at most the background's own next round


async def test_aclose_stops_the_background_refresh(
    make_keyset: KeySetFactory, jwks: JwksServer
) -> None:
    ks = make_keyset(refresh_interval=0.01)
    await ks.start()
    await until(lambda: jwks.hits >= 3)
    await ks.aclose()
    hits = jwks.hits
    await asyncio.sleep(0.1)
    assert jwks.hits == hits


async def test_unknown_kid_waits_for_a_slow_refresh_only_briefly(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    jwks.keys = [*jwks.keys, rsa_jwk(OTHER_RSA_KEY, "rsa-2")]
    jwks.delay = 2.0
    clock.advance(31)
    started = time.monotonic()
    assert await rejected(keyset, sign(OTHER_RSA_KEY, "rsa-2")) is AuthCode.UNKNOWN_KID
    assert time.monotonic() - started < keyset.config.refresh_wait + 0.5
    # The fetch the request started goes on in the background and lands the new key.
    await until(lambda: "rsa-2" in keyset.kids)
    await keyset.verify(sign(OTHER_RSA_KEY, "rsa-2"))
    assert jwks.hits == 2


async def test_unknown_kid_passes_when_the_refresh_lands_within_the_wait(
    keyset: JwksKeySet, jwks: JwksServer, clock: Clock
) -> None:
    jwks.keys = [*jwks.keys, rsa_jwk(OTHER_RSA_KEY, "rsa-2")]
    jwks.delay = 0.2
    clock.advance(31)
    tokens = [sign(OTHER_RSA_KEY, "rsa-2") for _ in range(5)]
    results = await asyncio.gather(*(keyset.verify(t) for t in tokens))
    assert [r["sub"] for r in results] == ["user-1"] * 5
    assert jwks.hits == 2


async def test_symmetric_keys_in_the_jwks_never_verify(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    secret = b"published-for-all-to-see"
    jwks.keys = [{"kty": "oct", "kid": "oct-1", "k": b64(secret), "alg": "HS256"}]
    await keyset.refresh()
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

        platform = sign(RSA_KEY, "rsa-1", kind="platform", tid=None, caps=["*"])
        tenantless = await client.post(
            "/plans/7/approve", headers={"Authorization": f"Bearer {platform}"}
        )
        assert tenantless.status_code == 403
        assert tenantless.json()["code"] == "tenant_required"

        approver = sign(EC_KEY, "ec-1", "ES256", caps=["plans:read", "plans:approve"])
        ok = await client.post("/plans/7/approve", headers={"Authorization": f"Bearer {approver}"})
        assert ok.status_code == 200
        assert ok.json() == {"plan": 7, "by": "user-1", "tenant": str(TENANT)}
