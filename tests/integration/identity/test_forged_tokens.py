"""A forged-token corpus: every token is refused at an identity route and at an app that
verifies with the kit against identity's JWKS. Zero accepted; a genuine token with the
same claims is accepted at both, so the corpus is refused for what was forged."""

import base64
import json
import secrets
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.support import service_account
from tests.integration.identity.test_kit_verifies import Stack, stack
from tests.integration.identity.test_tokens import PASSWORD, password_user

__all__ = ["stack"]  # the fixture, shared with the kit verification test


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}.{b64(signature)}"


def hs256(header: dict[str, Any], body: dict[str, Any], secret: bytes) -> str:
    import hashlib
    import hmac

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def ed25519_token(body: dict[str, Any], key: ed25519.Ed25519PrivateKey, kid: str) -> str:
    header = {"alg": "Ed25519", "typ": "at+jwt", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


async def corpus(stack: Stack) -> tuple[str, dict[str, str]]:
    """(a genuine token, {case: forged token}) for the bearer-token cases."""
    identity = stack.identity
    genuine = await stack.token()
    base: dict[str, Any] = jwt.decode(genuine, options={"verify_signature": False})
    key = await identity.deps.keyring.signer(lambda: identity.deps.runtime.uow(None))
    jwk = next(
        k
        for k in (await stack.http.get("/.well-known/jwks.json")).json()["keys"]
        if k["kid"] == key.kid
    )
    now = int(time.time())
    leeway = int(identity.settings.token_leeway)
    header = {"alg": key.algorithm, "typ": "at+jwt", "kid": key.kid}

    def real(claims: dict[str, Any] | None = None, **headers: Any) -> str:
        return jwt.encode(
            {**base, **(claims or {})},
            key.private,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": "at+jwt", **headers},
        )

    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    foreign_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign_ed = ed25519.Ed25519PrivateKey.generate()
    signature_of_genuine = base64.urlsafe_b64decode(genuine.split(".")[2] + "==")
    forged = {
        "alg none": forge({**header, "alg": "none"}, base),
        "alg none, genuine signature kept": forge(
            {**header, "alg": "none"}, base, signature_of_genuine
        ),
        "HS256 keyed with the public JWK": hs256(
            {**header, "alg": "HS256"}, base, json.dumps(jwk).encode()
        ),
        "HS256 keyed with the public key bytes": hs256(
            {**header, "alg": "HS256"}, base, base64.urlsafe_b64decode(jwk["x"] + "==")
        ),
        "HS256 keyed with the public PEM": hs256({**header, "alg": "HS256"}, base, public_pem),
        "RS256 with a key not in the JWKS": jwt.encode(
            base, foreign_rsa, algorithm="RS256", headers={"kid": key.kid, "typ": "at+jwt"}
        ),
        "Ed25519 key not in the JWKS, identity's kid": jwt.encode(
            base, foreign_ed, algorithm="EdDSA", headers={"kid": key.kid, "typ": "at+jwt"}
        ),
        "alg Ed25519, Ed25519 key not in the JWKS": ed25519_token(base, foreign_ed, key.kid),
        "claims altered, signature kept": forge(
            header, {**base, "caps": ["*"]}, signature_of_genuine
        ),
        "expired past leeway": real(
            {"iat": now - 3600, "nbf": now - 3600, "exp": now - leeway - 60}
        ),
        "nbf in the future past leeway": real({"nbf": now + leeway + 120}),
        "iat in the future past leeway, no nbf": real({"iat": now + leeway + 120}),
        "wrong audience": real({"aud": "someone-else"}),
        "wrong issuer": real({"iss": "https://evil.example"}),
        "no audience": real({"aud": None}),
        "unknown kid": real(kid="no-such-kid"),
        "typ JWT instead of at+jwt": real(typ="JWT"),
        "no kid": jwt.encode(base, key.private, algorithm=key.algorithm, headers={"typ": "at+jwt"}),
        "garbage": "not.a.jwt",
    }
    return genuine, forged


async def test_forged_tokens_are_refused_everywhere(stack: Stack) -> None:
    genuine, forged = await corpus(stack)
    assert await stack.at_kit(genuine) == 200
    assert await stack.at_identity(genuine) == 200
    accepted: list[str] = []
    for name, token in forged.items():
        at_kit, at_identity = await stack.at_kit(token), await stack.at_identity(token)
        if at_kit != 401 or at_identity != 401:
            accepted.append(f"{name}: kit {at_kit}, identity {at_identity}")
    assert accepted == []
    assert len(forged) >= 15


async def test_tokens_of_inactive_principals_are_refused_at_identity(stack: Stack) -> None:
    """Genuine signatures whose principal stopped being active: identity refuses them at
    once (other services, verifying offline, do when the short token expires)."""
    identity = stack.identity
    accepted: list[str] = []

    # a suspended tenant's service account token
    tenant = await identity.bare_tenant()
    _, client_id, secret = await service_account(
        identity, tenant, ["service_accounts:read"], name="r"
    )
    token = await stack.token(client_id, secret)
    assert await stack.at_identity(token) == 200
    await identity.owner_sql(
        "UPDATE tenants SET status = 'suspended' WHERE tenant_id = :t", t=tenant
    )
    if await stack.at_identity(token) != 401:
        accepted.append("suspended tenant")
    # and it gets no new token
    answer = await stack.http.post(
        "/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    if answer.status_code != 401:
        accepted.append("suspended tenant, new token")

    # a revoked API key's exchanged token
    tenant = await identity.bare_tenant()
    owner = await identity.bare_user(tenant)
    key_id = uuid.uuid4()
    await identity.owner_sql(
        "INSERT INTO api_keys (api_key_id, tenant_id, prefix, secret_hash, name, user_id, "
        "created_by, scopes) VALUES (:k, :t, :p, :h, 'k', :u, :u, :s)",
        k=key_id,
        t=tenant,
        p=secrets.token_hex(6),
        h=secrets.token_bytes(32),
        u=owner,
        s=["service_accounts:read"],
    )
    key_token = await identity.mint(
        tenant, key_id, ["service_accounts:read"], kind=PrincipalKind.API_KEY
    )
    assert await stack.at_identity(key_token) == 200
    await identity.owner_sql(
        "UPDATE api_keys SET revoked_at = now() WHERE api_key_id = :k", k=key_id
    )
    if await stack.at_identity(key_token) != 401:
        accepted.append("revoked API key")

    # a disabled tenant service account's token
    tenant = await identity.bare_tenant()
    account, client_id, secret = await service_account(
        identity, tenant, ["service_accounts:read"], name="d"
    )
    token = await stack.token(client_id, secret)
    await identity.owner_sql(
        "UPDATE service_accounts SET status = 'disabled' WHERE service_account_id = :a", a=account
    )
    if await stack.at_identity(token) != 401:
        accepted.append("disabled service account")
    assert accepted == []


async def test_refresh_token_reuse_kills_the_family(stack: Stack) -> None:
    _, slug, _, email = await password_user(stack.identity)
    signed_in = await stack.http.post(
        "/v1/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD, "tenant": slug},
    )
    first = signed_in.json()["refresh_token"]

    async def refresh(token: str) -> int:
        answer = await stack.http.post(
            "/v1/token", data={"grant_type": "refresh_token", "refresh_token": token}
        )
        return answer.status_code

    second = (
        await stack.http.post(
            "/v1/token", data={"grant_type": "refresh_token", "refresh_token": first}
        )
    ).json()["refresh_token"]
    accepted = [
        name
        for name, token in (("reused token", first), ("the family's newer token", second))
        if await refresh(token) != 400
    ]
    assert accepted == []
