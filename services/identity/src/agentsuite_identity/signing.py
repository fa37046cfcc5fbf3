"""Signing keys: generated here, encrypted at rest, rotated; they sign every access token.

The private key is kept as PKCS#8 encrypted with AES-256-GCM under the key-encryption key
of the settings, with the kid and algorithm as associated data, so a row copied onto
another kid does not decrypt. The newest active key signs; every key whose
`verify_until` has not passed stays in the JWKS, so tokens it signed keep verifying
after a rotation until they expire.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from agentsuite_identity.settings import IdentitySettings
from agentsuite_kit.auth.algorithms import ED25519, EDDSA

if TYPE_CHECKING:
    from agentsuite_identity.uow import IdentityUow

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  # a JOSE media type, not a secret

# how long a worker keeps signing with the key it loaded before it looks again: a rotation
# made by another worker reaches every worker within this, and the old key still verifies
RELOAD_SECONDS = 5.0

SIGNING_ALGORITHMS = (ED25519, "ES256", EDDSA)
"""Every algorithm identity signs or once signed with. EdDSA: the keys made before RFC 9864
(Ed25519 keys under the deprecated name); they are rotated out at the first start after
the switch (`Keyring.outdated`), published as EdDSA until their verify window ends, and
the tokens they signed verify meanwhile (the kit treats EdDSA on an Ed25519 key as
Ed25519). Each published key pins its own algorithm, so accepting all three is safe."""


class KeyEncryptionError(RuntimeError):
    """The key-encryption key is malformed, or a stored key does not decrypt with it."""


def _kek(settings: IdentitySettings) -> AESGCM:
    try:
        raw = base64.b64decode(settings.key_encryption_key.get_secret_value(), validate=True)
    except ValueError:
        raise KeyEncryptionError("key_encryption_key is not base64") from None
    if len(raw) != 32:
        raise KeyEncryptionError(f"key_encryption_key must be 32 bytes, got {len(raw)}")
    return AESGCM(raw)


def _aad(kid: str, algorithm: str) -> bytes:
    return f"identity-signing-key|{kid}|{algorithm}".encode()


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    algorithm: str
    private: Any  # cryptography private key
    public_jwk: dict[str, Any]


def generate(algorithm: str) -> tuple[Any, dict[str, Any]]:
    """A new private key and its public JWK (without kid)."""
    if algorithm == ED25519:
        key: Any = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        raise ValueError(f"unsupported signing algorithm {algorithm}")
    return key, dict(jwk)


def seal(settings: IdentitySettings, kid: str, algorithm: str, private: Any) -> bytes:
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(12)
    return nonce + _kek(settings).encrypt(nonce, pkcs8, _aad(kid, algorithm))


def unseal(settings: IdentitySettings, kid: str, algorithm: str, sealed: bytes) -> Any:
    from cryptography.exceptions import InvalidTag

    try:
        pkcs8 = _kek(settings).decrypt(sealed[:12], sealed[12:], _aad(kid, algorithm))
    except InvalidTag:
        raise KeyEncryptionError(f"signing key {kid} does not decrypt with this KEK") from None
    return serialization.load_der_private_key(pkcs8, password=None)


def new_kid() -> str:
    return f"{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:12]}"


class Keyring:
    """This process's view of the signing keys: the current one cached for RELOAD_SECONDS."""

    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings
        self._current: SigningKey | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def algorithm(self) -> str:
        return self.settings.signing_algorithm

    def verify_window(self) -> timedelta:
        """How long a retired key must keep verifying: the longest token it may have signed."""
        longest = max(self.settings.access_token_ttl, self.settings.api_key_token_ttl)
        return timedelta(seconds=longest + self.settings.token_leeway)

    async def ensure(self, uow: IdentityUow) -> str:
        """The current signing key's kid, creating the first one if there is none.

        Several workers may start at once: the repository serialises creation with an
        advisory lock, so exactly one first key is made. Commits.
        """
        current = await uow.signing_keys.current(lock=True)
        if current is not None:
            await uow.commit()
            return str(current.kid)
        kid = await self._create(uow)
        await uow.commit()
        return kid

    async def outdated(self, uow: IdentityUow) -> bool:
        """Whether the signer is of another algorithm than the settings' (e.g. an EdDSA key
        made before the switch to Ed25519), so must be rotated out. Takes the keys' lock."""
        current = await uow.signing_keys.current(lock=True)
        return current is not None and current.algorithm != self.algorithm

    async def rotate(self, uow: IdentityUow) -> tuple[str, str | None, datetime | None]:
        """Make a new key the signer; the previous one verifies until `verify_until`.

        Returns (new kid, previous kid, previous valid until). The caller commits and
        emits the event (it knows the actor and the JWKS URL).
        """
        previous = await uow.signing_keys.current(lock=True)
        kid = await self._create(uow)
        until: datetime | None = None
        if previous is not None:
            until = datetime.now(UTC) + self.verify_window()
            await uow.signing_keys.retire(str(previous.kid), until)
        self._current = None  # this worker signs with the new key at once
        return kid, (None if previous is None else str(previous.kid)), until

    async def _create(self, uow: IdentityUow) -> str:
        kid = new_kid()
        private, jwk = generate(self.algorithm)
        public = {**jwk, "kid": kid, "alg": self.algorithm, "use": "sig"}
        sealed = seal(self.settings, kid, self.algorithm, private)
        await uow.signing_keys.add(kid, self.algorithm, public, sealed)
        return kid

    async def signer(self, uow_factory: Any) -> SigningKey:
        """The key to sign with, from cache or the database (`uow_factory()` -> uow)."""
        now = time.monotonic()
        current = self._current
        if current is not None and now - self._loaded_at < RELOAD_SECONDS:
            return current
        async with self._lock:
            if self._current is not None and time.monotonic() - self._loaded_at < RELOAD_SECONDS:
                return self._current
            async with uow_factory() as uow:
                row = await uow.signing_keys.current(lock=False)
            if row is None:
                raise KeyEncryptionError("no signing key exists yet (identity has not started)")
            private = unseal(self.settings, row.kid, row.algorithm, bytes(row.private_key))
            self._current = SigningKey(row.kid, row.algorithm, private, dict(row.public_jwk))
            self._loaded_at = time.monotonic()
            return self._current

    @staticmethod
    def sign(key: SigningKey, claims: dict[str, Any]) -> str:
        return jwt.encode(
            claims,
            key.private,
            algorithm=key.algorithm,
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        )

    @staticmethod
    async def jwks(uow: IdentityUow) -> dict[str, Any]:
        """Every key that still verifies: the signer and the retired ones in their window."""
        return {"keys": [dict(row.public_jwk) for row in await uow.signing_keys.verifying()]}

    async def algorithms(self, uow: IdentityUow) -> list[str]:
        """What tokens in circulation may be signed with: the settings' algorithm, then
        those of the keys still verifying (EdDSA until the last pre-switch key ages out)."""
        found = [self.algorithm]
        for row in await uow.signing_keys.verifying():
            alg = row.public_jwk.get("alg")
            if isinstance(alg, str) and alg not in found:
                found.append(alg)
        return found
