"""The key set over time: refresh on unknown kids (throttled, shared), rotation, issuer
outages up to the maximum staleness, the background refresh, and its start."""

from __future__ import annotations

import asyncio

import pytest

from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet
from tests.integration.jwks_support import (
    EC_KEY,
    OTHER_RSA_KEY,
    RSA_KEY,
    Clock,
    JwksServer,
    KeySetFactory,
    b64,
    claims,
    ec_jwk,
    forge,
    rejected,
    rsa_jwk,
    sign,
    until,
)

pytestmark = pytest.mark.integration


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
    jwks.gate = asyncio.Event()  # the refresh hangs until the test lets it answer
    clock.advance(31)
    assert await rejected(keyset, sign(OTHER_RSA_KEY, "rsa-2")) is AuthCode.UNKNOWN_KID
    # the request gave up while the fetch it started was still unanswered
    assert "rsa-2" not in keyset.kids
    jwks.gate.set()
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
