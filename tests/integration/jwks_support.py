"""A real JWKS server on 127.0.0.1, real keys and signed tokens: what the JWT tests and
the service tests that need tokens share. Its fixtures are registered in conftest.py."""

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
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet, JwtConfig

ISSUER = "https://identity.agentsuite.test"
AUDIENCE = "agentsuite"
TENANT = uuid.uuid4()

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
OTHER_ED_KEY = ed25519.Ed25519PrivateKey.generate()


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "RS256"}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "alg": "ES256"}


def ed_jwk(key: ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey, kid: str) -> dict[str, Any]:
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


def ed_sign(key: ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey, header: dict[str, Any]) -> str:
    """An EdDSA signature made by hand, whatever `alg` the header names: the tests do not
    lean on the JOSE library (nor the kit's registration) they check."""
    body = claims()
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


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
    gate: asyncio.Event | None = None  # set: answers wait until it is

    async def jwks(self, request: Request) -> JSONResponse:
        self.hits += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
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
    server.gate = None
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
