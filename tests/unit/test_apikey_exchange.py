"""The kit's API-key exchanger: cache by key hash until exp - margin, one request for
concurrent misses, short negative cache for invalid_grant only; `KeyOrJwt` routing.

identity is played by an httpx.MockTransport: what is tested is the client's caching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from agentsuite_kit.auth import ApiKeyExchanger, AuthCode, AuthError, KeyOrJwt, Principal
from agentsuite_kit.auth.apikeys import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE
from agentsuite_kit.auth.principal import PrincipalKind

pytestmark = pytest.mark.unit

KEY = "ask_abcdefghijkl_" + "s" * 43
OTHER = "ask_mnopqrstuvwx_" + "t" * 43
URL = "http://identity/v1/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Identity:
    """Answers the token endpoint as told, counting requests per key."""

    def __init__(self) -> None:
        self.calls: list[dict[str, list[str]]] = []
        self.answer: Callable[[str], httpx.Response] = self.ok
        self.delay = 0.0
        self.issued = 0

    def ok(self, key: str) -> httpx.Response:
        self.issued += 1
        return httpx.Response(200, json={"access_token": f"jwt-{self.issued}", "expires_in": 300})

    async def handle(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        self.calls.append(form)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer(form["subject_token"][0])


def make(identity: Identity, clock: Clock, **kwargs: Any) -> ApiKeyExchanger:
    client = httpx.AsyncClient(transport=httpx.MockTransport(identity.handle))
    return ApiKeyExchanger(URL, client=client, clock=clock, **kwargs)


async def test_exchange_sends_the_rfc8693_form_and_caches_until_exp_minus_margin() -> None:
    identity, clock = Identity(), Clock()
    exchanger = make(identity, clock, margin=30.0)
    assert await exchanger.exchange(KEY) == "jwt-1"
    [form] = identity.calls
    assert form == {
        "grant_type": [GRANT_TOKEN_EXCHANGE],
        "subject_token": [KEY],
        "subject_token_type": [API_KEY_TOKEN_TYPE],
    }
    clock.now += 269
    assert await exchanger.exchange(KEY) == "jwt-1"
    assert len(identity.calls) == 1
    clock.now += 2  # 271 s: past 300 - 30
    assert await exchanger.exchange(KEY) == "jwt-2"
    assert exchanger.requests == 2


async def test_short_tokens_are_cached_for_half_their_life() -> None:
    identity, clock = Identity(), Clock()
    identity.answer = lambda key: httpx.Response(200, json={"access_token": "j", "expires_in": 40})
    exchanger = make(identity, clock, margin=30.0)
    await exchanger.exchange(KEY)
    clock.now += 19
    await exchanger.exchange(KEY)
    assert len(identity.calls) == 1
    clock.now += 2
    await exchanger.exchange(KEY)
    assert len(identity.calls) == 2


async def test_keys_are_cached_apart_and_by_hash_only() -> None:
    identity, clock = Identity(), Clock()
    exchanger = make(identity, clock)
    assert await exchanger.exchange(KEY) != await exchanger.exchange(OTHER)
    assert KEY not in repr(exchanger._tokens)
    assert len(identity.calls) == 2


async def test_concurrent_misses_share_one_request() -> None:
    identity, clock = Identity(), Clock()
    identity.delay = 0.05
    exchanger = make(identity, clock)
    tokens = await asyncio.gather(*(exchanger.exchange(KEY) for _ in range(20)))
    assert set(tokens) == {"jwt-1"}
    assert len(identity.calls) == 1


async def test_a_cancelled_waiter_does_not_cancel_the_shared_request() -> None:
    identity, clock = Identity(), Clock()
    identity.delay = 0.05
    exchanger = make(identity, clock)
    first = asyncio.create_task(exchanger.exchange(KEY))
    second = asyncio.create_task(exchanger.exchange(KEY))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "jwt-1"
    assert len(identity.calls) == 1


def invalid_grant(key: str) -> httpx.Response:
    return httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"})


async def test_invalid_grant_is_cached_briefly() -> None:
    identity, clock = Identity(), Clock()
    identity.answer = invalid_grant
    exchanger = make(identity, clock, negative_ttl=5.0)
    for _ in range(3):
        with pytest.raises(AuthError) as caught:
            await exchanger.exchange(KEY)
        assert caught.value.code is AuthCode.INVALID_CLAIM
    assert len(identity.calls) == 1
    clock.now += 5.1
    identity.answer = identity.ok
    assert await exchanger.exchange(KEY) == "jwt-1"


@pytest.mark.parametrize(
    ("response", "code"),
    [
        (httpx.Response(503, text="down"), AuthCode.JWKS_UNAVAILABLE),
        (httpx.Response(429, json={"error": "slow_down"}), AuthCode.RATE_LIMITED),
        (httpx.Response(400, json={"error": "invalid_request"}), AuthCode.INVALID_CLAIM),
        (httpx.Response(200, json={"access_token": 1}), AuthCode.JWKS_UNAVAILABLE),
    ],
)
async def test_other_failures_are_not_cached(response: httpx.Response, code: AuthCode) -> None:
    identity, clock = Identity(), Clock()
    identity.answer = lambda key: response
    exchanger = make(identity, clock)
    for _ in range(2):
        with pytest.raises(AuthError) as caught:
            await exchanger.exchange(KEY)
        assert caught.value.code is code
    assert len(identity.calls) == 2


async def test_unreachable_identity_is_unavailable_not_invalid() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    exchanger = ApiKeyExchanger(URL, client=client)
    with pytest.raises(AuthError) as caught:
        await exchanger.exchange(KEY)
    assert caught.value.code is AuthCode.JWKS_UNAVAILABLE


async def test_cache_is_bounded_least_recently_used_out() -> None:
    identity, clock = Identity(), Clock()
    exchanger = make(identity, clock, max_entries=2)
    keys = [f"ask_{c * 12}_{'s' * 43}" for c in "abc"]
    await exchanger.exchange(keys[0])
    await exchanger.exchange(keys[1])
    await exchanger.exchange(keys[0])  # now the most recent
    await exchanger.exchange(keys[2])  # evicts keys[1]
    assert len(exchanger._tokens) == 2
    await exchanger.exchange(keys[0])
    assert len(identity.calls) == 3
    await exchanger.exchange(keys[1])
    assert len(identity.calls) == 4


async def test_non_keys_are_never_sent() -> None:
    identity, clock = Identity(), Clock()
    exchanger = make(identity, clock)
    for bad in ("eyJ.x.y", "ask_" + "x" * 600):
        with pytest.raises(AuthError):
            await exchanger.exchange(bad)
    assert identity.calls == []


class FakeKeyset:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def authenticate(self, token: str) -> Principal:
        self.seen.append(token)
        return Principal(
            subject="k",
            tenant_id=None,
            kind=PrincipalKind.SERVICE,
            capabilities=frozenset(),
            claims={},
        )


async def test_key_or_jwt_exchanges_keys_and_passes_jwts_through() -> None:
    identity, clock = Identity(), Clock()
    keyset = FakeKeyset()
    auth = KeyOrJwt(keyset, make(identity, clock))
    await auth.authenticate(KEY)
    await auth.authenticate("eyJhbGciOiJFZERTQSJ9.e30.sig")
    assert keyset.seen == ["jwt-1", "eyJhbGciOiJFZERTQSJ9.e30.sig"]
    assert json.dumps(identity.calls).count(KEY) == 1


async def test_runtime_accepts_keys_only_when_given_identitys_token_url() -> None:
    from agentsuite_kit.auth import JwksKeySet
    from agentsuite_kit.auth.fastapi import STATE_ATTR
    from agentsuite_kit.db import UnitOfWork
    from agentsuite_kit.runtime import Runtime
    from agentsuite_kit.settings import ServiceSettings

    base = {"database_url": "postgresql+asyncpg://x@localhost/x", "jwks_url": "http://id/jwks"}
    for token_url, expected in ((None, JwksKeySet), (URL, KeyOrJwt)):
        settings = ServiceSettings.model_validate({**base, "identity_token_url": token_url})
        runtime = Runtime[UnitOfWork](settings, uow=UnitOfWork)
        app = runtime.app(title="t", version="1")
        assert type(getattr(app.state, STATE_ATTR)) is expected
        assert isinstance(runtime.keyset, JwksKeySet)  # readiness still checks the keys
        assert runtime.keyset is not None
        await runtime.keyset.aclose()
        if runtime.exchanger is not None:
            assert runtime.exchanger.token_url == URL
            await runtime.exchanger.aclose()
