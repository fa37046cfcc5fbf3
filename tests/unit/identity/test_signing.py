"""Pure pieces of tokens and keys: sealing signing keys at rest, signing, throttle keys,
scope narrowing and service-account capability rules."""

from __future__ import annotations

import base64
import os
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from agentsuite_identity.domain.errors import Forbidden, Invalid
from agentsuite_identity.grants import OAuthError
from agentsuite_identity.grants.client_credentials import narrowed
from agentsuite_identity.grants.password import throttle_keys
from agentsuite_identity.handlers.service_accounts import (
    check_capabilities,
    hash_secret,
    new_client_id,
    new_secret,
    secret_matches,
)
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.signing import (
    KeyEncryptionError,
    Keyring,
    SigningKey,
    generate,
    seal,
    unseal,
)


def settings(**overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "key_encryption_key": base64.b64encode(os.urandom(32)).decode(),
        "database_url": "postgresql+asyncpg://u:p@localhost/db",
    }
    values.update(overrides)
    return IdentitySettings(**values)


@pytest.mark.parametrize("algorithm", ["Ed25519", "ES256"])
def test_seal_round_trip_and_signature(algorithm: str) -> None:
    s = settings(signing_algorithm=algorithm)
    private, jwk = generate(algorithm)
    sealed = seal(s, "kid-1", algorithm, private)
    assert b"PRIVATE" not in sealed
    opened = unseal(s, "kid-1", algorithm, sealed)
    token = Keyring.sign(SigningKey("kid-1", algorithm, opened, jwk), {"sub": "x"})
    assert jwt.get_unverified_header(token) == {"alg": algorithm, "kid": "kid-1", "typ": "at+jwt"}
    public = opened.public_key()  # PyJWK cannot name Ed25519 yet (the kit's algorithms.py)
    assert jwt.decode(token, public, algorithms=[algorithm]) == {"sub": "x"}


def test_eddsa_setting_is_read_as_ed25519() -> None:
    # a deployment configured before RFC 9864 keeps starting, and issues the new name
    assert settings(signing_algorithm="EdDSA").signing_algorithm == "Ed25519"
    assert settings().signing_algorithm == "Ed25519"


def test_sealed_key_is_bound_to_kid_algorithm_and_kek() -> None:
    s = settings()
    private, _ = generate("Ed25519")
    sealed = seal(s, "kid-1", "Ed25519", private)
    with pytest.raises(KeyEncryptionError):
        unseal(s, "kid-2", "Ed25519", sealed)  # a row copied onto another kid
    with pytest.raises(KeyEncryptionError):
        unseal(s, "kid-1", "ES256", sealed)
    with pytest.raises(KeyEncryptionError):
        unseal(settings(), "kid-1", "Ed25519", sealed)  # another KEK
    # a malformed KEK never gets as far as sealing: the settings refuse it
    for bad in (base64.b64encode(b"short").decode(), "not base64!"):
        with pytest.raises(ValidationError):
            settings(key_encryption_key=bad)


def test_verify_window_covers_the_longest_token() -> None:
    s = settings(access_token_ttl=600, api_key_token_ttl=300, token_leeway=30)
    assert Keyring(s).verify_window().total_seconds() == 630


def test_throttle_keys() -> None:
    s = settings()
    account, address = throttle_keys(s, "Acme", "Ann@Example.com", "10.0.0.1")
    assert (account, address) == throttle_keys(s, "acme", "ann@example.com", "10.0.0.1")
    assert len(account) == 64
    assert address is not None
    assert account != address
    assert "ann" not in account
    # keyed: another deployment's KEK gives other keys for the same account
    assert throttle_keys(settings(), "acme", "ann@example.com", None)[0] != account
    assert throttle_keys(s, "acme", "ann@example.com", None)[1] is None
    assert throttle_keys(s, "other", "ann@example.com", None)[0] != account


def test_service_account_secrets() -> None:
    secret = new_secret()
    assert len(secret) >= 43
    assert new_client_id().startswith("sa_")
    assert new_client_id() != new_client_id()
    stored = hash_secret(secret)
    assert secret_matches(stored, secret)
    assert not secret_matches(stored, secret + "x")
    assert not secret_matches(stored, "")


def test_scope_narrowing() -> None:
    held = ["plans:*", "users:read"]
    assert narrowed(held, None) == ["plans:*", "users:read"]
    assert narrowed(held, "  ") == ["plans:*", "users:read"]
    assert narrowed(held, "plans:approve plans:approve") == ["plans:approve"]
    assert narrowed(held, "plans:* users:read") == ["plans:*", "users:read"]
    assert narrowed(["*"], "tenants:write") == ["tenants:write"]
    for scope in ("users:write", "plans:approve users:write", "*", "bogus:thing"):
        with pytest.raises(OAuthError) as caught:
            narrowed(held, scope)
        assert caught.value.error == "invalid_scope"


def test_service_account_capability_rules() -> None:
    assert check_capabilities("platform", ["*"], None) == ["*"]
    assert check_capabilities("service", ["users:read", "authorize:check"], None) == [
        "authorize:check",
        "users:read",
    ]
    assert check_capabilities("tenant", ["plans:read"], ["plans:*"]) == ["plans:read"]
    assert check_capabilities("tenant", ["plans:*"], ["*"]) == ["plans:*"]
    for kind, caps, creator in (
        ("tenant", ["tenants:read"], ["*"]),
        ("tenant", ["*"], ["*"]),
        ("service", ["*"], None),
        ("platform", ["plan:read"], None),
        ("tenant", [f"c{i}:read" for i in range(201)], ["*"]),
    ):
        with pytest.raises(Invalid):
            check_capabilities(kind, caps, creator)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        check_capabilities("tenant", ["plans:approve"], ["plans:read"])
