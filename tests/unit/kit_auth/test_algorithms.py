"""The kit's `Ed25519` JWS algorithm (RFC 9864) registered with PyJWT: EdDSA on the
Ed25519 curve, byte for byte, and nothing else."""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from agentsuite_kit.auth.algorithms import ED25519, register

pytestmark = pytest.mark.unit


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_ed25519_signs_what_eddsa_would() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    token = jwt.encode({"sub": "x"}, key, algorithm=ED25519)
    assert jwt.get_unverified_header(token)["alg"] == "Ed25519"
    head, body, signature = token.split(".")
    # a plain Ed25519 check of the JWS signing input, without PyJWT
    key.public_key().verify(_b64decode(signature), f"{head}.{body}".encode())
    assert jwt.decode(token, key.public_key(), algorithms=[ED25519]) == {"sub": "x"}


def test_ed25519_refuses_an_ed448_key() -> None:
    other = ed448.Ed448PrivateKey.generate()
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode({"sub": "x"}, other, algorithm=ED25519)
    token = jwt.encode({"sub": "x"}, other, algorithm="EdDSA")
    forged = ".".join([_header_as_ed25519(token), *token.split(".")[1:]])
    with pytest.raises(jwt.InvalidKeyError):
        jwt.decode(forged, other.public_key(), algorithms=[ED25519])


def test_register_is_idempotent() -> None:
    register()
    register()
    assert jwt.get_algorithm_by_name(ED25519) is not None


def _header_as_ed25519(token: str) -> str:
    raw = b'{"alg":"Ed25519","typ":"JWT"}'
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
