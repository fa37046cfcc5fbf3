"""identity signs with RFC 9864's fully specified `Ed25519`, not the deprecated `EdDSA`, and
says so in its JWKS and discovery document; a key made before the switch is published as
`EdDSA` until it ages out, and the tokens it signed keep verifying meanwhile."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from agentsuite_cli.provision import deprovision
from agentsuite_identity.auth import access_claims
from agentsuite_identity.signing import seal
from agentsuite_kit.auth import AuthCode, AuthError
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity, create_identity_db, make_settings, running
from tests.integration.identity.test_tokens import (
    PASSWORD,
    client_at,
    password_token,
    password_user,
)


async def _published(identity: Identity) -> dict[str, dict[str, Any]]:
    keys = (await identity.client.get("/.well-known/jwks.json")).json()["keys"]
    return {k["kid"]: k for k in keys}


async def test_tokens_issued_now_are_ed25519(identity: Identity) -> None:
    _tenant, slug, _user, email = await password_user(identity)
    async with client_at(identity) as client:
        answer = await password_token(client, username=email, password=PASSWORD, tenant=slug)
    assert answer.status_code == 200, answer.text
    header = jwt.get_unverified_header(answer.json()["access_token"])
    assert header["alg"] == "Ed25519"
    key = (await _published(identity))[header["kid"]]
    assert (key["alg"], key["kty"], key["crv"]) == ("Ed25519", "OKP", "Ed25519")
    discovery = (await identity.client.get("/.well-known/openid-configuration")).json()
    assert discovery["id_token_signing_alg_values_supported"][0] == "Ed25519"


async def test_identity_refuses_alg_none_and_other_algorithms(identity: Identity) -> None:
    genuine = await identity.mint(None, "svc", [], kind=PrincipalKind.SERVICE)
    _head, body, signature = genuine.split(".")
    header = jwt.get_unverified_header(genuine)
    keyset = identity.app.state.keyset

    def with_header(**changes: Any) -> str:
        raw = json.dumps({**header, **changes}).encode()
        return f"{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{body}.{signature}"

    refused: dict[str, AuthCode] = {}
    for alg in ("none", "ES256", "RS256", "HS256"):
        try:
            await keyset.authenticate(with_header(alg=alg))
        except AuthError as exc:
            refused[alg] = exc.code
    assert refused == {
        "none": AuthCode.ALG_NONE,
        "ES256": AuthCode.ALG_MISMATCH,  # identity may sign ES256, but not with this key
        "RS256": AuthCode.ALG_NOT_ALLOWED,
        "HS256": AuthCode.ALG_NOT_ALLOWED,
    }


async def test_a_key_made_before_the_switch_keeps_verifying_as_eddsa(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    db = await create_identity_db(pg_admin_url, tmp_path / "pw.json")
    settings = make_settings(db.url(pg_admin_url), kafka_bootstrap)
    old, kid = ed25519.Ed25519PrivateKey.generate(), "20250101-beforeswitch"
    public = OKPAlgorithm.to_jwk(old.public_key(), as_dict=True)
    engine = create_async_engine(db.url(pg_admin_url, owner=True))
    try:
        async with engine.begin() as conn:
            # the row an identity of before the switch made: algorithm EdDSA, the signer
            await conn.execute(
                text(
                    "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, "
                    "activated_at) VALUES (:kid, 'EdDSA', CAST(:jwk AS jsonb), :sealed, now())"
                ),
                {
                    "kid": kid,
                    "jwk": json.dumps({**public, "kid": kid, "alg": "EdDSA", "use": "sig"}),
                    "sealed": seal(settings, kid, "EdDSA", old),
                },
            )
    finally:
        await engine.dispose()
    try:
        async with running(settings, db, pg_admin_url) as identity:
            # a real service account: identity checks a tenantless account's standing too
            svc = str(await identity.tenantless_account("svc", PrincipalKind.SERVICE, []))
            signed_before = jwt.encode(
                access_claims(
                    settings,
                    subject=svc,
                    kind=PrincipalKind.SERVICE,
                    tenant_id=None,
                    capabilities=[],
                ),
                old,
                algorithm="EdDSA",
                headers={"kid": kid, "typ": "at+jwt"},
            )
            assert (await identity.app.state.keyset.authenticate(signed_before)).subject == svc

            published = await _published(identity)
            assert published[kid]["alg"] == "EdDSA"  # as it was, until it ages out
            newer = [k for k in published.values() if k["kid"] != kid]
            assert [k["alg"] for k in newer] == ["Ed25519"]

            issued = await identity.mint(None, svc, [], kind=PrincipalKind.SERVICE)
            header = jwt.get_unverified_header(issued)
            assert (header["alg"], header["kid"]) == ("Ed25519", newer[0]["kid"])
            assert (await identity.app.state.keyset.authenticate(issued)).subject == svc

            discovery = (await identity.client.get("/.well-known/openid-configuration")).json()
            assert discovery["id_token_signing_alg_values_supported"] == ["Ed25519", "EdDSA"]
    finally:
        await deprovision(pg_admin_url, [db])
