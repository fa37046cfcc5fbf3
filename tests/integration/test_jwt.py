"""JWT verification against a real JWKS server on 127.0.0.1, with real keys and signatures:
what is accepted, what is refused, and the FastAPI glue."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed448
from fastapi import Depends

from agentsuite_kit.auth import AuthCode, AuthError, JwksKeySet, Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http import PROBLEM_MEDIA_TYPE, create_app
from tests.integration.jwks_support import (
    AUDIENCE,
    EC_KEY,
    ED_KEY,
    OTHER_ED_KEY,
    OTHER_RSA_KEY,
    RSA_KEY,
    TENANT,
    JwksServer,
    KeySetFactory,
    claims,
    ed_jwk,
    ed_sign,
    forge,
    rejected,
    rsa_jwk,
    sign,
)

pytestmark = pytest.mark.integration


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


async def test_valid_ed25519_token(keyset: JwksKeySet, jwks: JwksServer) -> None:
    # RFC 9864's fully specified name, from a key that names it and from one that names none
    jwks.keys = [*jwks.keys, {**ed_jwk(OTHER_ED_KEY, "ed-2"), "alg": "Ed25519"}]
    await keyset.refresh()
    for key, kid in ((ED_KEY, "ed-1"), (OTHER_ED_KEY, "ed-2")):
        token = ed_sign(key, {"alg": "Ed25519", "typ": "at+jwt", "kid": kid})
        assert (await keyset.verify(token))["sub"] == "user-1"


async def test_eddsa_and_ed25519_are_one_algorithm_on_an_ed25519_key(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    # an issuer moving to Ed25519: tokens it signed as EdDSA before still verify, whichever
    # of the two names its key is published under
    jwks.keys = [
        {**ed_jwk(ED_KEY, "ed-old"), "alg": "EdDSA"},
        {**ed_jwk(OTHER_ED_KEY, "ed-new"), "alg": "Ed25519"},
    ]
    await keyset.refresh()
    for key, kid in ((ED_KEY, "ed-old"), (OTHER_ED_KEY, "ed-new")):
        for alg in ("EdDSA", "Ed25519"):
            token = ed_sign(key, {"alg": alg, "typ": "at+jwt", "kid": kid})
            assert (await keyset.verify(token))["sub"] == "user-1", (kid, alg)


async def test_ed25519_needs_an_ed25519_key(keyset: JwksKeySet, jwks: JwksServer) -> None:
    ed448_key = ed448.Ed448PrivateKey.generate()
    jwks.keys = [*jwks.keys, {**ed_jwk(ed448_key, "ed448-1"), "alg": "EdDSA"}]
    await keyset.refresh()
    # Ed25519 names its curve: an Ed448 key, an EC or RSA key is not one to check it with
    for kid, key in (("ed448-1", ed448_key), ("ec-1", ED_KEY), ("rsa-1", ED_KEY)):
        token = ed_sign(key, {"alg": "Ed25519", "typ": "at+jwt", "kid": kid})
        assert await rejected(keyset, token) is AuthCode.ALG_MISMATCH, kid
    # and an EdDSA key published for another algorithm stays pinned to it
    jwks.keys = [*jwks.keys, {**ed_jwk(ED_KEY, "ed-es"), "alg": "ES256"}]
    await keyset.refresh()
    token = ed_sign(ED_KEY, {"alg": "Ed25519", "typ": "at+jwt", "kid": "ed-es"})
    assert await rejected(keyset, token) is AuthCode.ALG_MISMATCH


async def test_ed25519_with_a_signature_from_another_key_is_rejected(keyset: JwksKeySet) -> None:
    token = ed_sign(OTHER_ED_KEY, {"alg": "Ed25519", "typ": "at+jwt", "kid": "ed-1"})
    assert await rejected(keyset, token) is AuthCode.BAD_SIGNATURE


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
        for kid in ("rsa-1", "ed-1"):
            token = forge({"alg": alg, "typ": "JWT", "kid": kid}, claims(), None)
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


async def test_a_verified_token_is_remembered_until_it_expires(
    keyset: JwksKeySet, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sign(ED_KEY, "ed-1", alg="EdDSA")
    first = await keyset.verify(token)
    decodes = 0
    real = jwt.decode

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal decodes
        decodes += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    assert await keyset.verify(token) == first
    assert decodes == 0  # answered from the remembered claims
    # a caller mutating what it got does not change what the next caller gets
    (await keyset.verify(token))["sub"] = "someone-else"
    assert (await keyset.verify(token))["sub"] == first["sub"]


async def test_a_remembered_token_still_expires(make_keyset: KeySetFactory) -> None:
    keyset = make_keyset(leeway=0)
    await keyset.start()
    token = sign(ED_KEY, "ed-1", alg="EdDSA", exp=int(time.time()) + 1)
    await keyset.verify(token)
    await asyncio.sleep(2.1)  # real time: the claims' exp is wall-clock seconds
    assert await rejected(keyset, token) is AuthCode.EXPIRED


async def test_a_remembered_token_stops_when_its_key_leaves_the_jwks(
    keyset: JwksKeySet, jwks: JwksServer
) -> None:
    token = sign(ED_KEY, "ed-1", alg="EdDSA")
    await keyset.verify(token)
    saved = jwks.keys
    jwks.keys = [k for k in saved if k["kid"] != "ed-1"]
    try:
        assert await keyset.refresh()
        assert await rejected(keyset, token) is AuthCode.UNKNOWN_KID
    finally:
        jwks.keys = saved
        await keyset.refresh()


async def test_remembering_can_be_turned_off(make_keyset: KeySetFactory) -> None:
    keyset = make_keyset(verified_cache=0)
    await keyset.start()
    token = sign(ED_KEY, "ed-1", alg="EdDSA")
    await keyset.verify(token)
    assert not keyset._verified
