"""RFC 9864's fully specified `Ed25519` JWS algorithm, for PyJWT, which knows only `EdDSA`.

RFC 9864 deprecates the polymorphic `EdDSA` (the curve is read off the key) in favour of
`Ed25519` and `Ed448`. On the wire `Ed25519` is EdDSA over the Ed25519 curve, byte for
byte, so PyJWT's OKP algorithm signs and verifies it; what the name adds is that the key
must be an Ed25519 key, which `Ed25519Algorithm` checks. PyJWT 2.x has no such algorithm
yet (jpadilla/pyjwt#1190, open) and its `PyJWK` looks algorithms up among the built-in ones
only, so the kit registers this one with PyJWT's module-level API (`jwt.decode`,
`jwt.encode`) and verifiers hand it raw keys rather than `PyJWK`s. When PyJWT ships its own
`Ed25519`, `register()` leaves it in place.
"""

from __future__ import annotations

from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm
from jwt.exceptions import InvalidKeyError

ED25519 = "Ed25519"
EDDSA = "EdDSA"
"""Deprecated by RFC 9864; still verified, so tokens signed before the switch keep working."""


class Ed25519Algorithm(OKPAlgorithm):
    """EdDSA pinned to the Ed25519 curve: an Ed448 key is refused, not silently used."""

    def prepare_key(self, key: Any) -> Any:
        prepared = super().prepare_key(key)
        if not isinstance(prepared, Ed25519PrivateKey | Ed25519PublicKey):
            raise InvalidKeyError("the Ed25519 algorithm needs an Ed25519 key")
        return prepared

    @staticmethod
    def from_jwk(jwk: str | dict[str, Any]) -> Any:
        key = OKPAlgorithm.from_jwk(jwk)
        if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
            raise InvalidKeyError("the Ed25519 algorithm needs an Ed25519 key")
        return key


def register() -> None:
    """Teach PyJWT's module-level API `Ed25519`; idempotent."""
    try:
        jwt.get_algorithm_by_name(ED25519)
    except NotImplementedError:
        jwt.register_algorithm(ED25519, Ed25519Algorithm())


register()
