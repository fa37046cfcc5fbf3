"""Another service accepts `Authorization: Bearer ask_...` through the kit alone: its
`require(...)` gate exchanges the key at a real identity listening on a real HTTP port,
verifies the JWT against identity's JWKS over HTTP, and refuses the key after it is
revoked once its cached token is due for renewal."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from agentsuite_kit.auth import ApiKeyExchanger, JwksKeySet, JwtConfig, KeyOrJwt, Principal
from agentsuite_kit.auth.apikeys import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE
from agentsuite_kit.auth.fastapi import STATE_ATTR, require
from agentsuite_kit.http.problems import install_problem_handlers
from tests.integration.identity.harness import Identity
from tests.integration.identity.test_api_keys import auth, create, setup

MARGIN = 30.0


class Clock:
    """The exchanger's clock, moved by hand: the cache's expiry without a 5-minute sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
async def identity_url(identity: Identity) -> AsyncIterator[str]:
    """The running identity app, served on 127.0.0.1 (its lifespan already ran)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(identity.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


class Service:
    def __init__(self, identity: Identity, base: str) -> None:
        self.clock = Clock()
        self.keyset = JwksKeySet(
            JwtConfig(
                jwks_url=f"{base}/.well-known/jwks.json",
                issuer=identity.settings.jwt_issuer,
                audience=identity.settings.jwt_audience,
                algorithms=(identity.settings.signing_algorithm,),
            )
        )
        self.exchanger = ApiKeyExchanger(f"{base}/v1/token", margin=MARGIN, clock=self.clock)
        app = FastAPI()
        install_problem_handlers(app)
        setattr(app.state, STATE_ATTR, KeyOrJwt(self.keyset, self.exchanger))

        @app.get("/plans")
        async def plans(
            principal: Annotated[Principal, Depends(require("plans:read"))],
        ) -> dict[str, str]:
            return {"subject": principal.subject, "kind": principal.kind.value}

        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://planning"
        )


@pytest.fixture
async def service(identity: Identity, identity_url: str) -> AsyncIterator[Service]:
    made = Service(identity, identity_url)
    await made.keyset.start()
    yield made
    await made.client.aclose()
    await made.exchanger.aclose()
    await made.keyset.aclose()


async def test_a_key_passes_the_kit_gate_until_revoked(
    identity: Identity, service: Service
) -> None:
    _, _, token = await setup(identity)
    body = (await create(identity, token, scopes=["plans:read"])).json()
    for _ in range(3):
        answer = await service.client.get("/plans", headers=auth(body["key"]))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"subject": body["id"], "kind": "api_key"}
    assert service.exchanger.requests == 1  # the JWT is cached

    revoked = await identity.client.delete(f"/v1/api-keys/{body['id']}", headers=auth(token))
    assert revoked.status_code == 204
    # within the cached token's life the service cannot know: the documented window
    assert (await service.client.get("/plans", headers=auth(body["key"]))).status_code == 200
    ttl = identity.settings.api_key_token_ttl
    service.clock.now += ttl - MARGIN + 1
    refused = await service.client.get("/plans", headers=auth(body["key"]))
    assert refused.status_code == 401
    assert "WWW-Authenticate" in refused.headers
    assert service.exchanger.requests == 2


async def test_a_key_without_the_capability_is_403(identity: Identity, service: Service) -> None:
    _, _, token = await setup(identity)
    key = (await create(identity, token, scopes=["users:read"])).json()["key"]
    answer = await service.client.get("/plans", headers=auth(key))
    assert answer.status_code == 403
    assert answer.json()["missing"] == ["plans:read"]


async def test_bad_keys_are_401_and_jwts_still_pass(identity: Identity, service: Service) -> None:
    tenant, user, token = await setup(identity)
    key = (await create(identity, token)).json()["key"]
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for bad in (forged, "ask_" + "a" * 12 + "_" + "x" * 43, "ask_nope"):
        assert (await service.client.get("/plans", headers=auth(bad))).status_code == 401
    # an ordinary user token goes straight to the key set, never to the token endpoint
    before = service.exchanger.requests
    user_token = await identity.mint(tenant, user, ["plans:read"])
    assert (await service.client.get("/plans", headers=auth(user_token))).status_code == 200
    assert service.exchanger.requests == before


async def test_a_rate_limited_key_is_429_with_retry_after_at_the_kit(
    identity: Identity, identity_url: str, service: Service
) -> None:
    """identity's 429 for a key over its limit is the caller's "slow down", not an outage:
    the kit answers it 429 problem+json with identity's Retry-After (it was 503)."""
    _, _, token = await setup(identity)
    body = (await create(identity, token, scopes=["plans:read"], rate_limit_per_minute=1)).json()
    async with httpx.AsyncClient(base_url=identity_url) as http:
        spent = await http.post(
            "/v1/token",
            data={
                "grant_type": GRANT_TOKEN_EXCHANGE,
                "subject_token": body["key"],
                "subject_token_type": API_KEY_TOKEN_TYPE,
            },
        )
    assert spent.status_code == 200, spent.text  # the key's one exchange this minute
    answer = await service.client.get("/plans", headers=auth(body["key"]))
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["code"] == "rate_limited"
