"""Secrets at rest: AES-256-GCM under named keys, the associated data binding each blob to
the row that holds it, so a blob copied to another tenant or row fails to open.

The stored blob is nonce (12 random bytes) || ciphertext+tag; the key id is kept beside it
in its own column, so a rotation (add a key, make it active, restart) leaves every old row
readable while a re-encryption job moves them to the new key. Used by llm-gateway (provider
credentials) and execution (tenant secrets): one implementation, two purposes.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

NONCE = 12
TAG = 16


class SealError(Exception):
    """A blob that cannot be opened. The message never contains the secret."""


def check_keys(name: str, keys: Mapping[str, SecretStr]) -> None:
    """Each key base64 of 32 bytes, at least one (a Settings validator: a bad key fails the
    start, not the first call)."""
    if not keys:
        raise ValueError(f"{name}: at least one key")
    for kid, key in keys.items():
        try:
            raw = base64.b64decode(key.get_secret_value(), validate=True)
        except ValueError:
            raise ValueError(f"{name}[{kid}]: not base64") from None
        if len(raw) != 32:
            raise ValueError(f"{name}[{kid}]: must decode to 32 bytes")


class Sealer:
    """Seals under the active key, opens under any configured one. The caller builds the
    associated data: a purpose prefix (a blob of one kind never opens as another) and the
    row's identity, unambiguously joined."""

    def __init__(self, keys: Mapping[str, SecretStr], active: str) -> None:
        if active not in keys:
            raise ValueError(f"active key {active!r} is not configured")
        self._keys = {
            kid: AESGCM(base64.b64decode(key.get_secret_value())) for kid, key in keys.items()
        }
        self.key_id = active

    def seal(self, associated: bytes, secret: str) -> tuple[bytes, str]:
        """(blob, key id) of `secret` under the active key, bound to `associated`."""
        nonce = os.urandom(NONCE)
        sealed = self._keys[self.key_id].encrypt(nonce, secret.encode("utf-8"), associated)
        return nonce + sealed, self.key_id

    def open(self, associated: bytes, blob: bytes, key_id: str, *, what: str) -> str:
        """The secret; SealError if the key is unknown or the blob was moved or altered.
        `what` names the row in the error (never the secret)."""
        key = self._keys.get(key_id)
        if key is None:
            raise SealError(f"key {key_id!r} of {what} is not configured")
        if len(blob) < NONCE + TAG:
            raise SealError(f"{what}: the sealed value is truncated")
        try:
            plain = key.decrypt(blob[:NONCE], blob[NONCE:], associated)
        except InvalidTag:
            raise SealError(f"{what} does not open under key {key_id!r}") from None
        return plain.decode("utf-8")

    def stale(self, key_id: str | None) -> bool:
        """Whether a row under `key_id` should be re-encrypted under the active key."""
        return key_id is not None and key_id != self.key_id
